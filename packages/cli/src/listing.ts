/**
 * Lists: `--limit` and `--cursor` map to the API's paging; `--all` follows `next` until the end. Without
 * `--all` only one page is printed, with a hint on stderr when there is more.
 */
import type { Command } from "commander";
import { printable } from "./format";
import type { ApiClient, Query } from "./http";
import { pageSize } from "./options";
import type { Page } from "./resources";
import type { Session } from "./session";

export interface ListOptions {
  all?: boolean;
  limit?: number;
  cursor?: string;
}

/** Adds `--all`, `--limit <n>` and `--cursor <cursor>` to a list command. */
export function withListOptions(cmd: Command): Command {
  return cmd
    .option("--all", "follow the pages to the end instead of printing the first one")
    .option("--limit <n>", "items per page, 1-500 (server default 50)", pageSize)
    .option("--cursor <cursor>", "start at this page (the `next` of a previous page)");
}

/** Reads one page, or every page from `cursor` on with `all` (the result then has `next: null`). */
export async function fetchList<T>(api: ApiClient, path: string, query: Query, opts: ListOptions): Promise<Page<T>> {
  const limit = opts.limit ?? (opts.all ? 500 : undefined);
  let page = await api.get<Page<T>>(path, { ...query, limit, cursor: opts.cursor });
  if (!opts.all) return page;
  const items = [...page.items];
  const seen = new Set<string>();
  while (page.next && !seen.has(page.next)) {
    seen.add(page.next);
    page = await api.get<Page<T>>(path, { ...query, limit, cursor: page.next });
    items.push(...page.items);
  }
  return { items, next: null };
}

/** Prints a page: `render(items)` (or "no <noun>"), then where to go on if there is more. */
export function printList<T>(s: Session, page: Page<T>, noun: string, render: (items: T[]) => string): void {
  s.out.result(page, (p) => (p.items.length ? render(p.items) : `no ${noun}`));
  if (page.next) {
    s.out.note(
      `more ${noun} than shown: add --all to list them all, or --cursor ${printable(page.next)} for the next page`,
    );
  }
}

/** Paging helpers over the Store's cursor pages. */
import type { Page } from "./schema-common";

/** Reads every page (for small collections: permits of a researcher, live workspaces of a permit). */
export async function listAll<T>(fetch: (page: { limit: number; cursor?: string }) => Promise<Page<T>>): Promise<T[]> {
  const all: T[] = [];
  let cursor: string | undefined;
  do {
    const res = await fetch({ limit: 500, cursor });
    all.push(...res.items);
    cursor = res.next ?? undefined;
  } while (cursor);
  return all;
}

export const encodeCursor = (key: string): string => Buffer.from(key, "utf8").toString("base64url");
export const decodeCursor = (cursor: string | undefined): string | undefined =>
  cursor === undefined ? undefined : Buffer.from(cursor, "base64url").toString("utf8");

/** Pages over a sorted list of ids held in memory, loading each item. */
export async function pageOf<T>(
  sortedIds: string[],
  page: { limit: number; cursor?: string },
  load: (id: string) => Promise<T | undefined>,
): Promise<Page<T>> {
  const after = decodeCursor(page.cursor);
  const rest = after === undefined ? sortedIds : sortedIds.filter((id) => id > after);
  const ids = rest.slice(0, page.limit);
  const items = (await Promise.all(ids.map(load))).filter((x): x is Awaited<T> => x !== undefined) as T[];
  const next = rest.length > page.limit ? encodeCursor(ids[ids.length - 1] as string) : null;
  return { items, next };
}

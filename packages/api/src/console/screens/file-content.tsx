/** @jsxImportSource hono/jsx */
/**
 * How a snapshot is shown to its reviewer: a CSV as a table (the first 1,000 rows, 100 per page, the first
 * 200 columns, 200 characters a cell, so that a page stays small whatever the file's shape) with every
 * flagged cell, column or row highlighted and its rule on hover and focus; a text file as numbered lines
 * with flagged lines highlighted; the findings panel whose entries focus their place. Everything from the
 * file is escaped text (hono/jsx escapes it; `visible` shows invisible characters).
 */
import { type EgressFinding, type FindingPlace, locateFinding, readLines, readTable } from "@spe/core";
import { visible } from "../components";

export const ROWS_PER_PAGE = 100;
export const MAX_ROWS = 1000;
/** Columns shown; the page says how many more the file has. With 100 rows a page holds 20,000 cells at most. */
export const MAX_COLUMNS = 200;
/** Characters shown per cell and per line (longer ones are cut with an ellipsis). */
export const MAX_CELL_CHARS = 200;
const MAX_LINE_CHARS = 2000;
const MAX_LINES = 2000;

interface Located {
  f: EgressFinding;
  place: FindingPlace;
}

/** The DOM id of a place, when it has one. */
export function placeId(p: FindingPlace): string | null {
  if (p.kind === "cell") return `c-${p.row}-${p.col}`;
  if (p.kind === "column") return `h-${p.col}`;
  if (p.kind === "row") return `r-${p.row}`;
  if (p.kind === "lines") return `l-${p.from}`;
  return null;
}

const tipText = (fs: EgressFinding[]) => fs.map((f) => `${f.rule} (${f.severity}): ${f.message}`).join(" · ");
const worstOf = (fs: EgressFinding[]) => (fs.some((f) => f.severity === "fail") ? "fail" : "review");

function group(located: Located[]) {
  const by = new Map<string, EgressFinding[]>();
  for (const { f, place } of located) {
    const id = placeId(place);
    if (!id) continue;
    by.set(id, [...(by.get(id) ?? []), f]);
  }
  return by;
}

/** A table cell or header that may carry findings: focusable, highlighted, with its tooltip. */
function Flagged(props: { tag: "td" | "th"; id: string; fs?: EgressFinding[]; cls?: string; text: string }) {
  const fs = props.fs;
  const Tag = props.tag;
  if (!fs) {
    return (
      <Tag id={props.id} class={props.cls}>
        {props.text}
      </Tag>
    );
  }
  return (
    <Tag
      id={props.id}
      class={`${props.cls ?? ""} flag flag-${worstOf(fs)}`.trim()}
      tabindex={0}
      aria-describedby={`tip-${props.id}`}
      data-rules={fs.map((f) => f.rule).join(" ")}
    >
      {props.text}
      <span class="tip" role="tooltip" id={`tip-${props.id}`}>
        {tipText(fs)}
      </span>
    </Tag>
  );
}

export function FindingsPanel(props: {
  located: Located[];
  href: (p: FindingPlace) => string | null;
  onPage: (p: FindingPlace) => boolean;
}) {
  return (
    <aside class="findings card" aria-labelledby="findings-h">
      <h2 id="findings-h">Findings ({props.located.length})</h2>
      {props.located.length === 0 ? <p class="muted">The automated checks found nothing.</p> : null}
      <ol>
        {props.located.map(({ f, place }) => {
          const href = props.href(place);
          const id = placeId(place);
          return (
            <li class={f.severity}>
              {href ? (
                <a href={href} data-cell={id && props.onPage(place) ? id : undefined} class="finding">
                  <strong>{f.rule}</strong> · {f.location}
                </a>
              ) : (
                <span>
                  <strong>{f.rule}</strong> · {f.location}
                </span>
              )}
              <br />
              <span class="muted">{f.message}</span>
            </li>
          );
        })}
      </ol>
    </aside>
  );
}

export function tableView(bytes: Uint8Array, path: string, findings: EgressFinding[], page: number, base: string) {
  const t = readTable(bytes, path, MAX_ROWS, MAX_CELL_CHARS, MAX_COLUMNS);
  const located = findings.map((f) => ({ f, place: locateFinding(f.location, t.headerTrimmed) }));
  const flags = group(located);
  const pages = Math.max(1, Math.ceil(t.rows.length / ROWS_PER_PAGE));
  const p = Math.min(Math.max(1, page), pages);
  const start = (p - 1) * ROWS_PER_PAGE;
  const rows = t.rows.slice(start, start + ROWS_PER_PAGE);
  const width = Math.min(MAX_COLUMNS, t.columns);
  const hidden = t.columns - width;
  const rowOf = (pl: FindingPlace) => (pl.kind === "cell" || pl.kind === "row" ? pl.row : null);
  const pageOf = (row: number) => Math.ceil(row / ROWS_PER_PAGE);
  const onPage = (pl: FindingPlace) => {
    const row = rowOf(pl);
    return row === null ? pl.kind === "column" : pageOf(row) === p;
  };
  const href = (pl: FindingPlace) => {
    const id = placeId(pl);
    const row = rowOf(pl);
    const col = pl.kind === "cell" || pl.kind === "column" ? pl.col : null;
    if (!id || pl.kind === "lines" || (row !== null && row > t.rows.length) || (col !== null && col >= width))
      return null;
    return `${base}?page=${row === null ? p : pageOf(row)}#${id}`;
  };
  const body = (
    <div class="sheet">
      <table class="csv">
        <thead>
          <tr>
            <th class="rowno">row</th>
            {Array.from({ length: width }, (_, c) => (
              <Flagged tag="th" id={`h-${c}`} fs={flags.get(`h-${c}`)} text={visible(t.header[c] ?? "")} />
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((r, k) => {
            const n = start + k + 1;
            return (
              <tr>
                <Flagged tag="th" id={`r-${n}`} cls="rowno" fs={flags.get(`r-${n}`)} text={String(n)} />
                {Array.from({ length: width }, (_, c) => (
                  <Flagged tag="td" id={`c-${n}-${c}`} fs={flags.get(`c-${n}-${c}`)} text={visible(r[c] ?? "")} />
                ))}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
  const pager = (
    <nav class="pager" aria-label="Rows">
      <span>
        Rows {t.rows.length === 0 ? 0 : start + 1}–{start + rows.length} of {t.rows.length}
        {t.more ? " (the first 1,000 rows are shown; findings further down are listed on the right)" : ""}
      </span>
      {hidden > 0 ? (
        <span class="more-columns" data-more-columns={hidden}>
          {`The first ${width} columns are shown: ${hidden} more columns are not (findings about them are listed on the right).`}
        </span>
      ) : null}
      {pages > 1
        ? Array.from({ length: pages }, (_, i) => (
            <a href={`${base}?page=${i + 1}`} aria-current={i + 1 === p ? "page" : undefined}>
              {i + 1}
            </a>
          ))
        : null}
    </nav>
  );
  return { body, pager, panel: <FindingsPanel located={located} href={href} onPage={onPage} /> };
}

export function textView(bytes: Uint8Array, findings: EgressFinding[], base: string) {
  const { lines, more } = readLines(bytes, MAX_LINES, MAX_LINE_CHARS);
  const located = findings.map((f) => ({ f, place: locateFinding(f.location) }));
  const byLine = new Map<number, EgressFinding[]>();
  for (const { f, place } of located) {
    if (place.kind !== "lines") continue;
    for (let n = place.from; n <= Math.min(place.to, place.from + MAX_LINES); n++)
      byLine.set(n, [...(byLine.get(n) ?? []), f]);
  }
  const href = (pl: FindingPlace) => (pl.kind === "lines" && pl.from <= lines.length ? `${base}#l-${pl.from}` : null);
  const body = (
    <div class="textview sheet">
      <ol>
        {lines.map((line, i) => {
          const n = i + 1;
          const fs = byLine.get(n);
          return fs ? (
            <li id={`l-${n}`} class={`flag flag-${worstOf(fs)}`} tabindex={0} aria-describedby={`tip-l-${n}`}>
              {visible(line) || " "}
              <span class="tip" role="tooltip" id={`tip-l-${n}`}>
                {tipText(fs)}
              </span>
            </li>
          ) : (
            <li id={`l-${n}`}>{visible(line) || " "}</li>
          );
        })}
      </ol>
      {more ? <p class="muted">The first {MAX_LINES} lines are shown.</p> : null}
    </div>
  );
  return { body, panel: <FindingsPanel located={located} href={href} onPage={() => true} /> };
}

/** The findings panel alone, for files whose content is not shown. */
export const findingsOnly = (findings: EgressFinding[]) => (
  <FindingsPanel
    located={findings.map((f) => ({ f, place: { kind: "file" } }))}
    href={() => null}
    onPage={() => false}
  />
);

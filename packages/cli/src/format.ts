/** Plain-text rendering for people: aligned tables, label/value blocks, short timestamps. */

/** A table column: its header and how to read a cell from a row. */
export interface Column<T> {
  header: string;
  value(row: T): string | number | null | undefined;
}

// Values come from the server and may hold anything: never let them drive the terminal.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/** Replaces control characters (escape sequences, newlines) so text from the server prints as one plain line. */
export const printable = (text: string): string => text.replace(CONTROL, "?");

/** A value for a table or a field: printable, and "-" for null, undefined or empty. */
export function cell(value: string | number | null | undefined): string {
  if (value === null || value === undefined || value === "") return "-";
  return printable(String(value));
}

/** `2026-06-01T10:00:00.000Z` → `2026-06-01 10:00:00Z`; anything else is shown as it is. */
export function time(iso: string | null | undefined): string {
  if (!iso) return "-";
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(\.\d+)?Z$/.exec(iso);
  return m ? `${m[1]} ${m[2]}Z` : cell(iso);
}

/** Rows under headers, columns separated by two spaces; the last column is not padded. */
export function table<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const grid = [columns.map((c) => c.header), ...rows.map((r) => columns.map((c) => cell(c.value(r))))];
  const widths = columns.map((_, i) => Math.max(...grid.map((line) => (line[i] as string).length)));
  return grid
    .map((line) =>
      line
        .map((v, i) => (i === line.length - 1 ? v : v.padEnd(widths[i] as number)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/** `label:  value` lines with the values aligned. */
export function fields(pairs: readonly (readonly [string, string | number | null | undefined])[]): string {
  const width = Math.max(...pairs.map(([label]) => label.length)) + 1;
  return pairs.map(([label, value]) => `${`${label}:`.padEnd(width)}  ${cell(value)}`).join("\n");
}

/** `a, b, c` for lists, `k=v k=v` for small objects. */
export const list = (values: readonly string[] | undefined): string => (values?.length ? values.join(", ") : "-");
export const pairs = (obj: Record<string, unknown> | undefined): string =>
  obj && Object.keys(obj).length
    ? Object.entries(obj)
        .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
        .join(" ")
    : "-";

/** Shortens long text for a table cell. */
export const truncate = (text: string, max: number): string =>
  text.length > max ? `${text.slice(0, max - 1)}…` : text;

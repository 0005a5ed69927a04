/**
 * Where a finding points, as a place in the file: the checks write locations for people ("row 3,
 * column n", "column #2", "lines 4-9"); a reviewer's screen needs the cell to highlight. Parsed here, next
 * to the checks that write them, so both stay in step (checks/tabular.ts names a column by its header,
 * `#k` when the header is empty, too long or itself flagged, and cuts names over 60 characters).
 */

export type FindingPlace =
  /** 1-based data row (the header is row 0), 0-based column. */
  | { kind: "cell"; row: number; col: number }
  | { kind: "column"; col: number }
  | { kind: "row"; row: number }
  /** 1-based, inclusive. */
  | { kind: "lines"; from: number; to: number }
  /** The whole file, the table, or a summary of findings not listed. */
  | { kind: "file" };

/** How the checks name column `c` whose header is `name`. */
function displayName(name: string): string {
  return name.length > 60 ? `${name.slice(0, 57)}...` : name;
}

/** The 0-based column a finding names, or -1. */
export function columnIndex(display: string, header: readonly string[]): number {
  const byName = header.findIndex((h) => h !== "" && displayName(h) === display);
  if (byName >= 0) return byName;
  const m = /^#(\d{1,6})$/.exec(display);
  if (m) return Number(m[1]) - 1;
  return -1;
}

/**
 * The place `location` points at in a table with `header` (trimmed header names), or in a text file.
 * @example locateFinding("row 2, column n", ["group", "n"]) // { kind: "cell", row: 2, col: 1 }
 */
export function locateFinding(location: string, header: readonly string[] = []): FindingPlace {
  let m = /^row (\d+), column (.+)$/.exec(location);
  if (m) {
    const col = columnIndex(m[2] as string, header);
    return col >= 0 ? { kind: "cell", row: Number(m[1]), col } : { kind: "row", row: Number(m[1]) };
  }
  m = /^column (.+)$/.exec(location);
  if (m) {
    const col = columnIndex(m[1] as string, header);
    return col >= 0 ? { kind: "column", col } : { kind: "file" };
  }
  m = /^row (\d+)$/.exec(location);
  if (m) return { kind: "row", row: Number(m[1]) };
  m = /^lines? (\d+)(?:-(\d+))?$/.exec(location);
  if (m) return { kind: "lines", from: Number(m[1]), to: Number(m[2] ?? m[1]) };
  return { kind: "file" };
}

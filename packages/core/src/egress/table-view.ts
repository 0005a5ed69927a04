/**
 * A snapshot read for display: the first rows of a CSV/TSV as strings, or the first lines of a text file.
 * Tables go through the same tokenizer, delimiter detection, BOM handling and blank-line rule as the
 * checks (checks/csv-reader.ts, checks/check-file.ts), so "row 3" in a finding is row 3 here. The strings
 * are the file's content: the caller shows them only as escaped text.
 */
import { CsvReader, type CsvSink, detectDelimiter, IRREGULAR, LONG, QUOTED, UNTERMINATED } from "./checks/csv-reader";
import { extensionOf } from "./checks/file-type";

export interface TableView {
  /** Header names as written (unquoted), and trimmed as the checks name columns. */
  header: string[];
  headerTrimmed: string[];
  /** Data rows 1..rows.length (row n is rows[n - 1]). */
  rows: string[][];
  /** More data rows follow the ones read. */
  more: boolean;
  /** The most fields in the header or any row read; only the first `maxCols` of each are kept. */
  columns: number;
}

const CHUNK = 64 * 1024;
const decoder = new TextDecoder("utf-8");
const text = (b: Uint8Array, s: number, e: number) => decoder.decode(b.subarray(s, e));
const isAsciiSpace = (c: string) => c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\f" || c === "\v";

function trimAscii(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && isAsciiSpace(s[a] as string)) a++;
  while (b > a && isAsciiSpace(s[b - 1] as string)) b--;
  return s.slice(a, b);
}

/** `"a""b"c` → `a"bc`: the slow path of the checks' unquoting, for fields with `""` or text after the quote. */
function unquote(raw: string): string {
  let out = "";
  for (let i = 1; i < raw.length; i++) {
    const ch = raw[i] as string;
    if (ch !== '"') out += ch;
    else if (raw[i + 1] === '"') {
      out += '"';
      i++;
    } else return out + raw.slice(i + 1);
  }
  return out;
}

class Collector implements CsvSink {
  header: string[] | null = null;
  readonly rows: string[][] = [];
  more = false;
  columns = 0;
  #row: string[] = [];
  #fields = 0;
  #hasContent = false;
  #long = "";

  constructor(
    private readonly maxRows: number,
    private readonly maxCellChars: number,
    private readonly maxCols: number,
  ) {}

  get full(): boolean {
    return this.more;
  }

  field(b: Uint8Array, s: number, e: number, flags: number): void {
    this.#fields++;
    if (this.#row.length >= this.maxCols) {
      // Counted, not kept: a row of 20,000 fields must not cost 20,000 strings per row read.
      this.#long = "";
      if ((flags & QUOTED) !== 0 || e > s) this.#hasContent = true;
      return;
    }
    let raw = text(b, s, e);
    if ((flags & LONG) !== 0) {
      raw = this.#long + raw;
      this.#long = "";
    }
    let value = raw;
    if ((flags & QUOTED) !== 0) {
      this.#hasContent = true;
      value =
        (flags & (IRREGULAR | UNTERMINATED)) === 0 && raw.length >= 2 && raw.endsWith('"')
          ? raw.slice(1, -1)
          : unquote(raw);
    } else if (this.#row.length === 0 && trimAscii(raw) !== "") this.#hasContent = true;
    if (value.length > this.maxCellChars) value = `${value.slice(0, this.maxCellChars)}…`;
    this.#row.push(value);
  }

  longPiece(b: Uint8Array, s: number, e: number): void {
    this.#hasContent = true;
    if (this.#long.length <= this.maxCellChars) this.#long += text(b, s, e);
  }

  endRow(): void {
    const row = this.#row;
    const fields = this.#fields;
    const blank = !this.#hasContent && fields <= 1;
    this.#row = [];
    this.#fields = 0;
    this.#hasContent = false;
    if (blank || this.more) return;
    if (this.header === null || this.rows.length < this.maxRows) this.columns = Math.max(this.columns, fields);
    if (this.header === null) this.header = row;
    else if (this.rows.length < this.maxRows) this.rows.push(row);
    else this.more = true;
  }
}

/**
 * The header and first `maxRows` data rows of a CSV (or TSV, by its name) snapshot.
 * @param maxCellChars longer cells are cut (with an ellipsis) for display.
 * @param maxCols only the first `maxCols` fields of each row are kept (`columns` says how many there are).
 */
export function readTable(
  bytes: Uint8Array,
  path: string,
  maxRows = 1000,
  maxCellChars = 2000,
  maxCols = 1000,
): TableView {
  let b = bytes;
  if (b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) b = b.subarray(3);
  const delimiter = extensionOf(path) === "tsv" ? 0x09 : detectDelimiter(b, 0, Math.min(b.length, CHUNK));
  const sink = new Collector(maxRows, maxCellChars, maxCols);
  const reader = new CsvReader(sink, delimiter);
  for (let at = 0; at < b.length && !sink.full; at += CHUNK) reader.push(b.subarray(at, at + CHUNK));
  if (!sink.full) reader.end();
  const header = sink.header ?? [];
  return { header, headerTrimmed: header.map(trimAscii), rows: sink.rows, more: sink.more, columns: sink.columns };
}

/**
 * The first `maxLines` lines of a text snapshot (split at LF, as the checks count them; a CR before it
 * dropped). A line longer than `maxLineChars` is cut with an ellipsis, and only that much of it is decoded,
 * so a 10 MB file of one line costs no more than a short one.
 */
export function readLines(bytes: Uint8Array, maxLines = 5000, maxLineChars = 2000): { lines: string[]; more: boolean } {
  if (bytes.length === 0) return { lines: [""], more: false };
  const lines: string[] = [];
  const maxBytes = maxLineChars * 4; // a UTF-8 character is 4 bytes at most
  let at = 0;
  while (at < bytes.length) {
    if (lines.length === maxLines) return { lines, more: true };
    let end = bytes.indexOf(0x0a, at);
    const next = end < 0 ? bytes.length : end + 1;
    if (end < 0) end = bytes.length;
    if (end > at && bytes[end - 1] === 0x0d) end--;
    let line = text(bytes, at, Math.min(end, at + maxBytes));
    if (end - at > maxBytes || line.length > maxLineChars) line = `${line.slice(0, maxLineChars)}…`;
    lines.push(line);
    at = next;
  }
  return { lines, more: false };
}

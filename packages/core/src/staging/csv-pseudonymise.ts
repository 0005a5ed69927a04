/**
 * Streaming pseudonymisation of the identifier columns of a CSV file, as it is staged into a workspace.
 *
 * The scanner is hand-written, at the byte level, on purpose: every byte outside an identifier field must
 * come out exactly as it went in (quoting, line ends, BOM, odd spacing, malformed rows), which a CSV parser
 * that re-serialises rows does not promise, and it has to run at >= 100 MB/s, which a parser building
 * strings per field cannot. It copies runs of untouched bytes wholesale and only looks inside the fields of
 * the identifier columns.
 *
 * What it understands: an optional UTF-8 BOM (kept); a header row naming the columns (identifier columns are
 * found by exact name after trimming); `,`, `;` or tab as delimiter, detected from the header when not
 * given; RFC 4180 quoting (delimiters, `""` and line breaks inside quotes); CRLF, LF or lone CR line ends; a
 * last line with or without a line end; ragged rows (an identifier is replaced where the row has that
 * column). A replaced field becomes the bare pseudonym (its alphabet needs no quoting); the value is
 * unquoted, unescaped and trimmed of ASCII whitespace first, so `"PT1"`, `PT1` and ` PT1` agree. A field
 * that is empty or all whitespace is left as it is.
 *
 * Memory: the header row and one identifier field at a time are buffered (up to 32 MiB each); everything
 * else streams, so a 10 MB line costs no more than its own chunks.
 */
import { Buffer } from "node:buffer";
import { ValidationError } from "../errors";
import { trimmedEnd, trimmedStart } from "./normalise";
import { PSEUDONYM_LENGTH, type Pseudonymiser, pseudonymString } from "./pseudonym";

/** The delimiters the scanner accepts. */
export type CsvDelimiter = "," | ";" | "\t";

/** Options for {@link pseudonymiseCsv}. */
export interface PseudonymiseCsvOptions {
  /** Header names of the columns to pseudonymise; each must be in the header row. */
  identifierColumns: readonly string[];
  pseudonymiser: Pseudonymiser;
  /** @default detected from the header row: the most frequent of `,` `;` tab outside quotes, `,` on a tie */
  delimiter?: CsvDelimiter;
  /**
   * Called for every non-empty identifier value replaced, with the normalised original bytes and its
   * pseudonym (to feed the identifier set). `original` is a view into a reused buffer: copy it to keep it.
   */
  /**
   * Called for each non-empty identifier value the first time this pseudonymiser meets it (repeats that
   * its cache answers are skipped; a value may be reported again after the cache was cleared).
   */
  onIdentifier?: (original: Uint8Array, pseudonym: string) => void;
}

/** Past this, a header row or one identifier field is refused rather than buffered further. */
export const MAX_BUFFERED_FIELD_BYTES = 32 * 1024 * 1024;

const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;
const DELIMITERS = [0x2c, 0x3b, 0x09] as const; // , ; tab: order breaks ties

// Scanner states between bytes.
const FIELD_START = 0;
const UNQUOTED = 1;
const QUOTED = 2;
const QUOTE_IN_QUOTED = 3; // just saw a quote inside a quoted field: an escape or the closing quote
const AFTER_CR = 4; // a CR ended the row; swallow an LF that follows it

const utf8 = new TextDecoder("utf-8");

/**
 * Pseudonymises the identifier columns of a CSV byte stream, passing every other byte through unchanged.
 * An empty source yields nothing.
 *
 * @throws ValidationError `staging.identifier_column_missing` when a declared identifier column is not in
 *   the header row (before any byte is yielded); `staging.csv_field_too_long` past 32 MiB of header row or of
 *   one identifier field.
 * @example
 * const out = pseudonymiseCsv(source, { identifierColumns: ["patient_id"], pseudonymiser });
 * for await (const bytes of encryptStream(out, key, binding)) await sink.write(bytes);
 */
export async function* pseudonymiseCsv(
  source: AsyncIterable<Uint8Array>,
  options: PseudonymiseCsvOptions,
): AsyncGenerator<Uint8Array> {
  const scanner = new CsvPseudonymiser(options);
  for await (const chunk of source) {
    const out = scanner.push(chunk);
    if (out !== null) yield out;
  }
  const out = scanner.end();
  if (out !== null) yield out;
}

/**
 * The synchronous scanner behind {@link pseudonymiseCsv}: feed chunks with `push`, then call `end` once.
 * Each call returns the bytes ready so far (possibly the input chunk itself when nothing in it changed),
 * or null.
 */
export class CsvPseudonymiser {
  readonly #options: PseudonymiseCsvOptions;
  readonly #onIdentifier: ((original: Uint8Array, pseudonym: string) => void) | undefined;
  readonly #pseudonymiser: Pseudonymiser;
  #inHeader = true;
  #headerQuoted = false;
  #delimiter = 0x2c;
  /** 1 at the index of each identifier column. */
  #identifiers: Uint8Array = new Uint8Array(0);

  /** 1 for the bytes that end an unquoted field (delimiter, CR, LF): one load per byte, not three compares. */
  readonly #stop = Uint8Array.from({ length: 256 }, (_, b) => (b === LF || b === CR ? 1 : 0));
  #state = FIELD_START;
  #col = 0;
  /** Inside an identifier field that started in an earlier chunk: its bytes so far are in #held. */
  #capturing = false;
  /** The header row, then the part of an identifier field carried over from earlier chunks. */
  #held = new Uint8Array(1024);
  #heldLength = 0;

  #out: Buffer | null = null;
  #pos = 0;
  #sizeHint = 0;
  #unquoted = new Uint8Array(256);

  constructor(options: PseudonymiseCsvOptions) {
    this.#options = options;
    this.#onIdentifier = options.onIdentifier;
    this.#pseudonymiser = options.pseudonymiser;
  }

  /** Scans the next chunk; returns the bytes that are ready, or null. */
  push(chunk: Uint8Array): Uint8Array | null {
    if (chunk.length === 0) return null;
    this.#sizeHint = chunk.length + 512;
    let from = 0;
    if (this.#inHeader) {
      const end = this.#findHeaderEnd(chunk);
      if (end < 0) {
        this.#hold(chunk, 0, chunk.length, "header row");
        return null;
      }
      // The header row is complete: parse it, then let the data scan pass its bytes through.
      this.#hold(chunk, 0, end, "header row");
      this.#startData(this.#held.subarray(0, this.#heldLength));
      this.#write(this.#held, 0, this.#heldLength - end);
      this.#heldLength = 0;
      from = end;
    }
    return this.#scan(chunk, from);
  }

  /** Flushes what the last chunk left open (a header without a line end, a last field); call once. */
  end(): Uint8Array | null {
    if (this.#inHeader) {
      if (this.#heldLength === 0) return null;
      const header = this.#held.subarray(0, this.#heldLength);
      this.#startData(header);
      this.#write(header, 0, header.length);
      this.#heldLength = 0;
    } else if (this.#capturing) {
      this.#capturing = false;
      this.#finishField(this.#held, 0, 0);
    }
    return this.#take();
  }

  /** Where the header row's line end is in `c` (the quote state carries over chunks), or -1. */
  #findHeaderEnd(c: Uint8Array): number {
    let quoted = this.#headerQuoted;
    for (let i = 0; i < c.length; i++) {
      const b = c[i];
      if (b === QUOTE) quoted = !quoted;
      else if (!quoted && (b === LF || b === CR)) return i;
    }
    this.#headerQuoted = quoted;
    return -1;
  }

  /** Reads the column names, settles the delimiter and marks the identifier columns. */
  #startData(header: Uint8Array): void {
    this.#inHeader = false;
    const bom = header[0] === 0xef && header[1] === 0xbb && header[2] === 0xbf ? 3 : 0;
    const row = header.subarray(bom);
    const d = this.#options.delimiter;
    this.#delimiter = d === undefined ? detectDelimiter(row) : d.charCodeAt(0);
    this.#stop[this.#delimiter] = 1;
    const names = splitHeader(row, this.#delimiter);
    const missing = this.#options.identifierColumns.filter((c) => !names.includes(c));
    if (missing.length > 0) {
      throw new ValidationError(
        "staging.identifier_column_missing",
        `identifier column${missing.length > 1 ? "s" : ""} ${missing.map((c) => JSON.stringify(c)).join(", ")} ${missing.length > 1 ? "are" : "is"} not in the header row`,
      );
    }
    this.#identifiers = Uint8Array.from(names, (n) => (this.#options.identifierColumns.includes(n) ? 1 : 0));
  }

  /**
   * The data scan over `c[from..]`. Runs of bytes outside identifier fields are copied (or returned as the
   * chunk itself) without being looked at twice; the state lives in locals for the loop and is stored back
   * at the end, because this loop is where staging spends its time.
   */
  #scan(c: Uint8Array, from: number): Uint8Array | null {
    const n = c.length;
    const D = this.#delimiter;
    const ids = this.#identifiers;
    const stop = this.#stop;
    let state = this.#state;
    let col = this.#col;
    let i = from;
    let seg = 0; // start of the run of bytes to pass through unchanged
    let capturing = this.#capturing;
    let fieldStart = 0; // start of the identifier field being captured (0 when it began in an earlier chunk)
    while (i < n) {
      if (state === UNQUOTED) {
        let b = 0;
        while (i < n) {
          b = c[i]!;
          if (stop[b] === 1) break;
          i++;
        }
        if (i === n) break;
        if (capturing) {
          capturing = false;
          this.#finishField(c, fieldStart, i);
          seg = i;
        }
        i++;
        if (b === D) {
          col++;
          state = FIELD_START;
        } else {
          col = 0;
          state = b === LF ? FIELD_START : AFTER_CR;
        }
      } else if (state === FIELD_START) {
        if (ids[col] === 1) {
          this.#write(c, seg, i);
          capturing = true;
          fieldStart = i;
        }
        const b = c[i]!;
        if (b === QUOTE) {
          state = QUOTED;
          i++;
        } else if (b === D || b === LF || b === CR) {
          state = UNQUOTED; // an empty field: the unquoted branch ends it at this byte
        } else {
          state = UNQUOTED;
          i++;
        }
      } else if (state === QUOTED) {
        // A plain loop: Buffer#indexOf costs more in call overhead than a typical quoted field takes to scan.
        while (i < n && c[i] !== QUOTE) i++;
        if (i === n) break;
        i++;
        state = QUOTE_IN_QUOTED;
      } else if (state === QUOTE_IN_QUOTED) {
        if (c[i] === QUOTE) {
          state = QUOTED;
          i++;
        } else {
          // The closing quote: the field ends at the next delimiter or line end. Text between the two
          // (`"ab"cd`, not RFC 4180) is kept as part of the field rather than refused.
          state = UNQUOTED;
        }
      } else {
        if (c[i] === LF) i++;
        state = FIELD_START;
      }
    }
    this.#state = state;
    this.#col = col;
    this.#capturing = capturing;
    if (capturing) {
      this.#hold(c, fieldStart, n, "identifier field");
    } else if (seg === 0 && this.#out === null) {
      return c; // nothing in this chunk changed: pass it on as it is
    } else {
      this.#write(c, seg, n);
    }
    return this.#take();
  }

  /** Replaces the identifier field made of #held plus `c[start, end)` with its pseudonym. */
  #finishField(c: Uint8Array, start: number, end: number): void {
    let raw = c;
    let a = start;
    let b = end;
    if (this.#heldLength > 0) {
      this.#hold(c, start, end, "identifier field");
      raw = this.#held;
      a = 0;
      b = this.#heldLength;
      this.#heldLength = 0;
    }
    let value = raw;
    let s = a;
    let e = b;
    if (b > a && raw[a] === QUOTE) {
      let close = a + 1;
      while (close < b && raw[close] !== QUOTE) close++;
      if (close === b - 1) {
        s = a + 1; // the common case: no escapes, nothing after the closing quote
        e = b - 1;
      } else {
        value = this.#unquote(raw, a, b);
        s = 0;
        e = this.#unquotedLength;
      }
    }
    s = trimmedStart(value, s, e);
    e = trimmedEnd(value, s, e);
    if (e <= s) {
      this.#write(raw, a, b); // empty or blank: nothing to hide, keep it as it was
      return;
    }
    this.#reserve(PSEUDONYM_LENGTH);
    const out = this.#out!;
    this.#pos = this.#pseudonymiser.write(value, s, e, out, this.#pos);
    // A value the pseudonymiser answered from its cache was already reported: onIdentifier sees each
    // distinct value at least once (again only after the cache was cleared), which is what a set needs.
    if (this.#onIdentifier !== undefined && !this.#pseudonymiser.lastWasCached) {
      // A plain view: Buffer#subarray (the chunks are usually Buffers) costs several times as much.
      const original = new Uint8Array(value.buffer, value.byteOffset + s, e - s);
      this.#onIdentifier(original, pseudonymString(out, this.#pos - PSEUDONYM_LENGTH));
    }
  }

  #unquotedLength = 0;

  /** The content of the quoted field `raw[a, b)`: `""` becomes `"`, text after the closing quote is kept. */
  #unquote(raw: Uint8Array, a: number, b: number): Uint8Array {
    if (this.#unquoted.length < b - a) this.#unquoted = new Uint8Array(b - a);
    const u = this.#unquoted;
    let n = 0;
    let i = a + 1;
    while (i < b) {
      const x = raw[i]!;
      if (x !== QUOTE) {
        u[n++] = x;
        i++;
      } else if (i + 1 < b && raw[i + 1] === QUOTE) {
        u[n++] = QUOTE;
        i += 2;
      } else {
        u.set(raw.subarray(i + 1, b), n);
        n += b - i - 1;
        break;
      }
    }
    this.#unquotedLength = n;
    return u;
  }

  /** Appends `c[start, end)` to #held, refusing to buffer more than the limit. */
  #hold(c: Uint8Array, start: number, end: number, what: string): void {
    const need = this.#heldLength + end - start;
    if (need > MAX_BUFFERED_FIELD_BYTES) {
      throw new ValidationError("staging.csv_field_too_long", `a CSV ${what} is longer than 32 MiB`);
    }
    if (need > this.#held.length) {
      const grown = new Uint8Array(Math.min(MAX_BUFFERED_FIELD_BYTES, Math.max(need, this.#held.length * 2)));
      grown.set(this.#held.subarray(0, this.#heldLength));
      this.#held = grown;
    }
    this.#held.set(c.subarray(start, end), this.#heldLength);
    this.#heldLength = need;
  }

  #reserve(k: number): void {
    const out = this.#out;
    if (out === null) {
      this.#out = Buffer.allocUnsafe(Math.max(k, this.#sizeHint));
    } else if (this.#pos + k > out.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.#pos + k, out.length * 2));
      out.copy(grown, 0, 0, this.#pos);
      this.#out = grown;
    }
  }

  /** Appends `c[start, end)` to the output. */
  #write(c: Uint8Array, start: number, end: number): void {
    const n = end - start;
    if (n <= 0) return;
    this.#reserve(n);
    const out = this.#out!;
    if (n > 64) {
      out.set(c.subarray(start, end), this.#pos);
    } else {
      // Short runs (the rest of a row between two identifiers) are copied by hand: subarray() allocates.
      for (let i = 0, o = this.#pos; i < n; i++) out[o + i] = c[start + i]!;
    }
    this.#pos += n;
  }

  /** The output so far, handed over (the next call starts a new buffer), or null if there is none. */
  #take(): Uint8Array | null {
    const out = this.#out;
    if (out === null) return null;
    const pos = this.#pos;
    this.#out = null;
    this.#pos = 0;
    return pos === 0 ? null : out.subarray(0, pos);
  }
}

/** The most frequent of `,` `;` tab outside quotes in the header row; `,` on a tie or when none occurs. */
function detectDelimiter(row: Uint8Array): number {
  const counts = [0, 0, 0];
  let quoted = false;
  for (const b of row) {
    if (b === QUOTE) quoted = !quoted;
    else if (!quoted) {
      const k = DELIMITERS.indexOf(b as (typeof DELIMITERS)[number]);
      if (k >= 0) counts[k]!++;
    }
  }
  let best = 0;
  for (let k = 1; k < 3; k++) if (counts[k]! > counts[best]!) best = k;
  return DELIMITERS[best]!;
}

/** The header row's column names: unquoted, decoded as UTF-8, trimmed. */
function splitHeader(row: Uint8Array, delimiter: number): string[] {
  const names: string[] = [];
  let field: number[] = [];
  let quoted = false;
  for (let i = 0; i < row.length; i++) {
    const b = row[i]!;
    if (quoted) {
      if (b !== QUOTE) field.push(b);
      else if (row[i + 1] === QUOTE) {
        field.push(QUOTE);
        i++;
      } else quoted = false;
    } else if (b === QUOTE) quoted = true;
    else if (b === delimiter) {
      names.push(utf8.decode(Uint8Array.from(field)).trim());
      field = [];
    } else field.push(b);
  }
  names.push(utf8.decode(Uint8Array.from(field)).trim());
  return names;
}

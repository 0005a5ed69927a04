/**
 * A streaming CSV tokenizer over UTF-8 bytes that hands each field to a sink as a byte range, without
 * building a string or an array per row.
 *
 * Hand-written rather than a library: csv-parse 6 (the best-kept streaming parser for Node) measured
 * ~20 MB/s on a realistic aggregate table here, building a string per field and an array per row, five
 * times below the 100 MB/s that the whole check (tokenizing, the identifier scan and the count rules) has
 * to reach; a plain line splitter that builds strings runs at ~400 MB/s. Fields that lie inside one chunk
 * (nearly all) are passed as views of it; only a field cut by a chunk boundary is copied.
 *
 * It understands RFC 4180 quoting (delimiters, `""` and line breaks inside quotes), CRLF, LF or lone CR
 * line ends, and a last line with or without one. Text after a closing quote (`"ab"cd`) stays part of
 * the field. The delimiter is the caller's (see {@link detectDelimiter}); a UTF-8 BOM is the caller's too.
 *
 * Per field it also ORs the byte classes of the field's bytes into `flags` (digits, `@`, `+`, separators,
 * bytes that cannot be part of a number), so that the sink can skip work on most cells without looking at
 * their bytes again.
 *
 * Memory: a field cut by chunk boundaries is held up to {@link FIELD_WINDOW}; a longer one is handed to the
 * sink in pieces (`longPiece`) and ends with a `field` call flagged {@link LONG}, so a field of any size
 * costs at most that much.
 */

// Byte classes (low bits of a field's flags).
export const STOP = 1; // delimiter, CR, LF
export const DIGIT = 2;
export const AT = 4; // @
export const PLUS = 8; // +
/** A byte that separates words inside a cell: space, punctuation. */
export const SEP = 16;
/** A byte that cannot appear in a plain number. */
export const NONNUM = 32;
/** A decimal point (or a comma, when the delimiter is not a comma). */
export const DOT = 64;
/** A sign, an exponent or a space: a number that needs the full parse. */
export const SLOW_NUMBER = 128;
// Field flags set by the tokenizer.
export const QUOTED = 1 << 8;
/** A quoted field with `""` inside or text after the closing quote: the sink must unquote it the slow way. */
export const IRREGULAR = 1 << 9;
/** The field's quote was never closed (the file ended inside it). */
export const UNTERMINATED = 1 << 10;
/** The field was longer than {@link FIELD_WINDOW}: its bytes came in `longPiece` calls. */
export const LONG = 1 << 11;

/** Longest field held whole. */
export const FIELD_WINDOW = 1 << 20;

const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;

/** Receives the fields of a CSV stream. */
export interface CsvSink {
  /** One field: `b[s, e)` raw (quotes included), or the last piece of a {@link LONG} field. */
  field(b: Uint8Array, s: number, e: number, flags: number): void;
  /** A piece of a field longer than {@link FIELD_WINDOW}. */
  longPiece(b: Uint8Array, s: number, e: number): void;
  /** The end of a record. */
  endRow(): void;
}

/** The byte-class table for a delimiter; a decimal comma is a number's byte unless `,` delimits. */
export function classTable(delimiter: number): Uint8Array {
  const t = new Uint8Array(256);
  for (let b = 0; b < 256; b++) {
    let c = 0;
    if (b === delimiter || b === CR || b === LF) c |= STOP;
    if (b >= 0x30 && b <= 0x39) c |= DIGIT;
    else if (!(b === 0x2e || b === 0x2d || b === 0x2b || b === 0x65 || b === 0x45 || b === 0x20)) {
      if (!(b === 0x2c && delimiter !== 0x2c)) c |= NONNUM;
    }
    if (b === 0x2e || (b === 0x2c && delimiter !== 0x2c)) c |= DOT;
    if (b === 0x2d || b === 0x2b || b === 0x65 || b === 0x45 || b === 0x20) c |= SLOW_NUMBER;
    if (b === 0x40) c |= AT;
    if (b === 0x2b) c |= PLUS;
    if (b <= 0x20 || ",;:|/()[]{}<>=\"'".includes(String.fromCharCode(b))) c |= SEP;
    t[b] = c;
  }
  return t;
}

const FIELD_START = 0;
const UNQUOTED = 1;
const IN_QUOTES = 2;
const QUOTE_IN_QUOTES = 3;
const AFTER_CR = 4;

/** @internal */
export class CsvReader {
  readonly #sink: CsvSink;
  readonly #delimiter: number;
  readonly #cls: Uint8Array;
  #state = FIELD_START;
  #flags = 0;
  #rowOpen = false;
  #held = new Uint8Array(256);
  #heldLength = 0;
  #long = false;

  constructor(sink: CsvSink, delimiter: number) {
    this.#sink = sink;
    this.#delimiter = delimiter;
    this.#cls = classTable(delimiter);
  }

  push(c: Uint8Array): void {
    const n = c.length;
    let i = 0;
    if (this.#state !== FIELD_START) {
      i = this.#resume(c);
      if (i < 0) return;
    }
    // The hot loop, one field per turn, kept small on purpose: V8 compiles this shape to a tight loop (a
    // general state machine here ran at half the speed). Fields cut by the chunk's end are held, and
    // `#resume` finishes them with the next chunk.
    const cls = this.#cls;
    const D = this.#delimiter;
    const sink = this.#sink;
    while (i < n) {
      const start = i;
      let flags = 0;
      let b = c[i]!;
      if (b === QUOTE) {
        i = this.#quoted(c, i + 1, IN_QUOTES, QUOTED);
        if (i < 0) {
          this.#hold(c, start, n);
          return;
        }
        flags = this.#flags;
      }
      while (i < n) {
        b = c[i]!;
        const k = cls[b]!;
        if ((k & STOP) !== 0) break;
        flags |= k;
        i++;
      }
      if (i === n) {
        this.#state = UNQUOTED;
        this.#flags = flags;
        this.#hold(c, start, n);
        return;
      }
      sink.field(c, start, i, flags & ~STOP);
      i++;
      if (b === D) {
        if (i === n) {
          this.#rowOpen = true;
          this.#state = FIELD_START;
        }
        continue;
      }
      i = this.#terminated(c, i, b);
    }
  }

  /** After the byte `b` that ended a field (at `i - 1`): the row ends at a line end; `i` past a CRLF. */
  #terminated(c: Uint8Array, i: number, b: number): number {
    if (b === this.#delimiter) {
      this.#rowOpen = true;
      this.#state = FIELD_START;
      return i;
    }
    this.#rowOpen = false;
    this.#sink.endRow();
    if (b === CR) {
      if (i === c.length) {
        this.#state = AFTER_CR;
        return i;
      }
      if (c[i] === LF) i++;
    }
    this.#state = FIELD_START;
    return i;
  }

  /**
   * Scans a quoted section from `i` (inside the quotes, or just after a quote inside them): returns the
   * index after its closing quote, or -1 when the chunk ends first (the state is kept in #state/#flags).
   */
  #quoted(c: Uint8Array, i: number, state: number, flags: number): number {
    const n = c.length;
    const cls = this.#cls;
    for (;;) {
      if (state === IN_QUOTES) {
        while (i < n) {
          const b = c[i]!;
          if (b === QUOTE) break;
          flags |= cls[b]!;
          i++;
        }
        if (i === n) break;
        i++;
        state = QUOTE_IN_QUOTES;
      }
      if (i === n) break;
      if (c[i] === QUOTE) {
        flags |= IRREGULAR; // an escaped quote
        state = IN_QUOTES;
        i++;
        continue;
      }
      if ((cls[c[i]!]! & STOP) === 0) flags |= IRREGULAR; // text after the closing quote
      this.#flags = flags;
      return i;
    }
    this.#state = state;
    this.#flags = flags;
    return -1;
  }

  /** Finishes what the last chunk left open; returns where the hot loop goes on, or -1 (all of `c` held). */
  #resume(c: Uint8Array): number {
    const n = c.length;
    const state = this.#state;
    let i = 0;
    if (state === AFTER_CR) {
      this.#state = FIELD_START;
      return c[0] === LF ? 1 : 0;
    }
    let flags = this.#flags;
    if (state === IN_QUOTES || state === QUOTE_IN_QUOTES) {
      i = this.#quoted(c, 0, state, flags);
      if (i < 0) {
        this.#hold(c, 0, n);
        return -1;
      }
      flags = this.#flags;
    }
    const cls = this.#cls;
    let b = 0;
    while (i < n) {
      b = c[i]!;
      const k = cls[b]!;
      if ((k & STOP) !== 0) break;
      flags |= k;
      i++;
    }
    if (i === n) {
      this.#state = UNQUOTED;
      this.#flags = flags;
      this.#hold(c, 0, n);
      return -1;
    }
    this.#emit(c, 0, i, flags);
    return this.#terminated(c, i + 1, b);
  }

  /** Ends the last field and record, if the stream did not end with a line end. */
  end(): void {
    const state = this.#state;
    const empty = new Uint8Array(0);
    if (state === UNQUOTED || state === IN_QUOTES || state === QUOTE_IN_QUOTES) {
      this.#emit(empty, 0, 0, this.#flags | (state === IN_QUOTES ? UNTERMINATED : 0));
      this.#sink.endRow();
    } else if (state === FIELD_START && this.#rowOpen) {
      this.#emit(empty, 0, 0, 0);
      this.#sink.endRow();
    }
    this.#state = FIELD_START;
    this.#rowOpen = false;
  }

  #emit(c: Uint8Array, s: number, e: number, flags: number): void {
    flags &= ~STOP;
    if (this.#long) {
      this.#long = false;
      if (this.#heldLength > 0) this.#sink.longPiece(this.#held, 0, this.#heldLength);
      this.#heldLength = 0;
      this.#sink.field(c, s, e, flags | LONG);
    } else if (this.#heldLength > 0) {
      this.#hold(c, s, e);
      const length = this.#heldLength;
      this.#heldLength = 0;
      if (this.#long) {
        this.#long = false;
        this.#sink.field(this.#held, 0, length, flags | LONG);
      } else this.#sink.field(this.#held, 0, length, flags);
    } else this.#sink.field(c, s, e, flags);
  }

  /** Keeps `c[s, e)` of a field cut by a chunk boundary; past the window, hands it on as a long field. */
  #hold(c: Uint8Array, s: number, e: number): void {
    const need = this.#heldLength + e - s;
    if (need > FIELD_WINDOW) {
      if (this.#heldLength > 0) this.#sink.longPiece(this.#held, 0, this.#heldLength);
      this.#heldLength = 0;
      this.#long = true;
      if (e - s > FIELD_WINDOW) {
        this.#sink.longPiece(c, s, e);
        return;
      }
    }
    if (this.#heldLength + e - s > this.#held.length) {
      const grown = new Uint8Array(Math.min(FIELD_WINDOW, Math.max(this.#heldLength + e - s, this.#held.length * 2)));
      grown.set(this.#held.subarray(0, this.#heldLength));
      this.#held = grown;
    }
    this.#held.set(c.subarray(s, e), this.#heldLength);
    this.#heldLength += e - s;
  }
}

/** The most frequent of `,` `;` tab outside quotes in a header sample; `,` on a tie or when none occurs. */
export function detectDelimiter(b: Uint8Array, s: number, e: number): number {
  let comma = 0;
  let semicolon = 0;
  let tab = 0;
  let quoted = false;
  for (let i = s; i < e; i++) {
    const x = b[i]!;
    if (x === QUOTE) quoted = !quoted;
    else if (quoted) continue;
    else if (x === 0x2c) comma++;
    else if (x === 0x3b) semicolon++;
    else if (x === 0x09) tab++;
    else if (x === LF || x === CR) break;
  }
  if (semicolon > comma && semicolon >= tab) return 0x3b;
  if (tab > comma && tab > semicolon) return 0x09;
  return 0x2c;
}

/**
 * The checks of a text output (`.txt`, `.md`, `.json`, `.log`), line by line: the identifier scan, the
 * staged identifiers (the whole line, and each word of 6 bytes or more), and two soft signals, because
 * text can hold tables that the tabular rules cannot see:
 * - `numeric_table` (review): two or more consecutive lines with at least two numbers each (a printed data
 *   frame, a log of results), or a Markdown table row with a number;
 * - `possible_count` (review): a number labelled as a count (`n = 4`, `"count": 3`, `cases: 7`) below the
 *   minimum. Text gets `review` at best for its numbers: it is checked loosely.
 * A line mentioning birth/dob/nascimento makes its full dates dates of birth (the spec's column rule, for
 * lines). Lines of any length are handled in windows of 1 MiB (see windows.ts); lines are split at LF, a
 * CR before it is dropped.
 */
import { Buffer } from "node:buffer";
import { trimmedEnd, trimmedStart } from "../../staging/normalise";
import { isCountName } from "./columns";
import type { FindingCollector } from "./findings";
import { anyWordKnown, MAX_LOOKUP_BYTES, reportKnown, reportPatterns } from "./identifiers";
import type { KnownValues } from "./known-values";
import { DATE, mentionsBirth, mentionsHealthNumber, NIF, NINE, newCounts, scanPatterns } from "./patterns";
import { WINDOW, Windower } from "./windows";

const LF = 0x0a;
const CR = 0x0d;

/** Separators between the tokens of a line when counting its numbers. */
const TOKEN_SEP = new Uint8Array(256);
for (let b = 0; b <= 0x20; b++) TOKEN_SEP[b] = 1;
for (const ch of ",;|()[]{}=:\"'") TOKEN_SEP[ch.charCodeAt(0)] = 1;

const COUNT_LABEL = /"?([\p{L}][\p{L}\p{N}_ .-]{0,40}?)"?\s*[:=]\s*(\d+)(?![\d.,]\d)/gu;
const utf8 = new TextDecoder("utf-8");

/** The resolved policy the text check works with. */
export interface TextPolicy {
  minCellCount: number;
}

/** @internal */
export class TextCheck {
  readonly #p: TextPolicy;
  readonly #findings: FindingCollector;
  readonly #known: KnownValues | null;
  readonly #knownHas: (b: Uint8Array, s: number, e: number) => boolean;
  readonly #counts = newCounts();
  readonly #windower: Windower;

  #line = 1;
  /** The start of the line being read lies in an earlier chunk: its bytes so far are held (or windowed). */
  #held = new Uint8Array(0);
  #heldLength = 0;
  #long = false;

  // the line being read
  #health = false;
  #birth = false;
  #knownHit = false;
  #numbers = 0;
  #pipe = false;
  #blank = true;

  // the current run of table-like lines
  #runStart = 0;
  #runNumeric = 0;
  #runPipe = false;

  constructor(policy: TextPolicy, findings: FindingCollector, known: KnownValues | null) {
    this.#p = policy;
    this.#findings = findings;
    this.#known = known;
    this.#knownHas = known === null ? () => false : (b, s, e) => known.has(b, s, e);
    this.#windower = new Windower((b, s, e) => this.#window(b, s, e));
  }

  push(chunk: Uint8Array): void {
    const c = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let start = 0;
    for (;;) {
      const lf = c.indexOf(LF, start);
      if (lf < 0) break;
      if (this.#long) {
        this.#windower.feed(c, start, lf);
        this.#windower.flush();
        this.#endLine();
      } else if (this.#heldLength > 0) {
        this.#hold(c, start, lf);
        if (this.#long) {
          this.#windower.flush();
          this.#endLine();
        } else {
          const n = this.#heldLength;
          this.#heldLength = 0;
          this.#wholeLine(this.#held, 0, n);
        }
      } else this.#wholeLine(c, start, lf);
      start = lf + 1;
    }
    if (start < c.length) {
      if (this.#long) this.#windower.feed(c, start, c.length);
      else this.#hold(c, start, c.length);
    }
  }

  end(): void {
    if (this.#long) {
      this.#windower.flush();
      this.#endLine();
    } else if (this.#heldLength > 0) {
      const n = this.#heldLength;
      this.#heldLength = 0;
      this.#wholeLine(this.#held, 0, n);
    }
    this.#endRun();
  }

  /** Keeps part of a line cut by a chunk boundary; past the window, the line goes to the windower. */
  #hold(c: Uint8Array, s: number, e: number): void {
    const need = this.#heldLength + e - s;
    if (need > WINDOW) {
      this.#long = true;
      this.#windower.feed(this.#held, 0, this.#heldLength);
      this.#heldLength = 0;
      this.#windower.feed(c, s, e);
      return;
    }
    if (need > this.#held.length) {
      const grown = new Uint8Array(Math.min(WINDOW, Math.max(need, this.#held.length * 2, 256)));
      grown.set(this.#held.subarray(0, this.#heldLength));
      this.#held = grown;
    }
    this.#held.set(c.subarray(s, e), this.#heldLength);
    this.#heldLength = need;
  }

  /** A line held whole: the line itself is looked up too, then it is one window. */
  #wholeLine(b: Uint8Array, s: number, e: number): void {
    if (e > s && b[e - 1] === CR) e--;
    const ts = trimmedStart(b, s, e);
    const te = trimmedEnd(b, ts, e);
    if (this.#known !== null && te > ts && te - ts <= MAX_LOOKUP_BYTES && this.#known.has(b, ts, te)) {
      this.#knownHit = true;
    }
    this.#window(b, s, e);
    this.#endLine();
  }

  /** A line, or a window of a long one. */
  #window(b: Uint8Array, s: number, e: number): void {
    const counts = this.#counts;
    if (scanPatterns(b, s, e, counts) > 0 || this.#long) {
      if (!this.#health && counts[NIF]! + counts[NINE]! > 0 && mentionsHealthNumber(b, s, e)) this.#health = true;
      if (!this.#birth && counts[DATE]! > 0 && mentionsBirth(b, s, e)) this.#birth = true;
      if (this.#long) {
        // In a long line the words can be in another window than the numbers: look in every window.
        if (!this.#health && mentionsHealthNumber(b, s, e)) this.#health = true;
        if (!this.#birth && mentionsBirth(b, s, e)) this.#birth = true;
      }
    }
    if (!this.#knownHit && this.#known !== null && anyWordKnown(b, s, e, this.#knownHas)) this.#knownHit = true;
    if (this.#blank) {
      let i = s;
      while (i < e && b[i]! <= 0x20) i++;
      if (i < e) {
        this.#blank = false;
        this.#pipe = b[i] === 0x7c; // a Markdown table row
      }
    }
    this.#numbers += numericTokens(b, s, e);
    this.#countLabels(b, s, e);
  }

  /** `possible_count` for numbers labelled as counts and below the minimum. */
  #countLabels(b: Uint8Array, s: number, e: number): void {
    let colon = false;
    for (let i = s; i < e; i++) {
      const x = b[i];
      if (x === 0x3a || x === 0x3d) {
        colon = true;
        break;
      }
    }
    if (!colon) return;
    const text = utf8.decode(b.subarray(s, e));
    const min = this.#p.minCellCount;
    for (const m of text.matchAll(COUNT_LABEL)) {
      const v = Number(m[2]);
      if (v >= min || !isCountName(m[1]!)) continue;
      const line = this.#line;
      this.#findings.add(
        "possible_count",
        "review",
        `line ${line}`,
        `a count of ${v} is below the minimum ${min}: suppress or aggregate it, or give the table as a CSV so that it can be checked`,
        line,
        0,
      );
    }
  }

  #endLine(): void {
    const line = this.#line;
    const where = () => `line ${line}`;
    reportPatterns(this.#findings, this.#counts, this.#health, this.#birth, where, line, 0);
    if (this.#knownHit) reportKnown(this.#findings, where, line, 0);
    const tableLike = this.#numbers >= 2 || (this.#pipe && this.#numbers >= 1);
    if (tableLike) {
      if (this.#runStart === 0) this.#runStart = line;
      this.#runNumeric++;
      if (this.#pipe) this.#runPipe = true;
    } else if (!(this.#pipe && this.#runStart > 0)) this.#endRun(); // a Markdown rule line keeps a table going
    this.#line++;
    this.#long = false;
    this.#health = false;
    this.#birth = false;
    this.#knownHit = false;
    this.#numbers = 0;
    this.#pipe = false;
    this.#blank = true;
  }

  #endRun(): void {
    if (this.#runStart > 0 && (this.#runNumeric >= 2 || this.#runPipe)) {
      const from = this.#runStart;
      const to = Math.max(from, this.#line - 1);
      const lines = from === to ? `line ${from}` : `lines ${from}-${to}`;
      this.#findings.add(
        "numeric_table",
        "review",
        lines,
        "these lines hold a table of numbers, which the automatic checks cannot read as counts: give the table as a CSV, or the reviewer checks it by hand",
        from,
        0,
      );
    }
    this.#runStart = 0;
    this.#runNumeric = 0;
    this.#runPipe = false;
  }
}

/** How many tokens of `b[s, e)` are plain numbers (sign, digits, one decimal point or comma, a %). */
function numericTokens(b: Uint8Array, s: number, e: number): number {
  let n = 0;
  let i = s;
  while (i < e) {
    while (i < e && TOKEN_SEP[b[i]!] === 1) i++;
    const start = i;
    while (i < e && TOKEN_SEP[b[i]!] === 0) i++;
    let k = start;
    if (k < i && (b[k] === 0x2d || b[k] === 0x2b)) k++;
    const digitsStart = k;
    while (k < i && b[k]! >= 0x30 && b[k]! <= 0x39) k++;
    if (k === digitsStart) continue;
    if (k < i && b[k] === 0x2e) {
      k++;
      while (k < i && b[k]! >= 0x30 && b[k]! <= 0x39) k++;
    }
    if (k < i && b[k] === 0x25) k++;
    if (k === i) n++;
  }
  return n;
}

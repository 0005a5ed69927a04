/**
 * The identifier scan of egress-checks.md over raw UTF-8 bytes: e-mail addresses, 9-digit numbers (NIF
 * with a valid check digit, or health/phone candidates), full dates, postcodes and `+351`. It runs on every
 * CSV cell and text line, so it works on byte ranges without building strings and skips bytes that cannot
 * start a pattern (anything but a digit, `@` or `+`) in a tight loop. It reports how many of each it found,
 * never what: the caller turns counts into findings that name a place, not a value.
 *
 * Boundaries: a number is a maximal run of ASCII digits (letters around it do not matter, so `PT136695973`
 * holds a NIF), except that digits glued to a decimal point (`0.136695973`, `136695973.5`) are a decimal
 * number, not an identifier. Dates: `YYYY-MM-DD` (also `YYYY/MM/DD`), `DD/MM/YYYY` and `DD-MM-YYYY` with
 * one- or two-digit day and month, valid on the calendar (a `MM/DD/YYYY` reading counts too), years
 * 1000-2999. The words that make a 9-digit number a health number, or a date a date of birth, are found by
 * {@link mentionsHealthNumber} and {@link mentionsBirth} on the header or line.
 */

// Byte classes.
const DIGIT = 1;
const START = 2; // a byte that can start a pattern: digit, @, +
const LOCAL = 4; // allowed in the local part of an e-mail address
const DOMAIN = 8; // allowed in a domain label
const LETTER = 16; // ASCII letter or a non-ASCII byte (for a top-level domain)

const CLASS = new Uint8Array(256);
for (let b = 0; b < 256; b++) {
  const ch = String.fromCharCode(b);
  let c = 0;
  const digit = b >= 0x30 && b <= 0x39;
  const letter = (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b >= 0x80;
  if (digit) c |= DIGIT | START;
  if (b === 0x40 || b === 0x2b) c |= START;
  if (digit || letter || "!#$%&'*+/=?^_`{|}~.-".includes(ch)) c |= LOCAL;
  if (digit || letter || b === 0x2d) c |= DOMAIN;
  if (letter) c |= LETTER;
  CLASS[b] = c;
}

const AT = 0x40;
const PLUS = 0x2b;
const DOT = 0x2e;
const DASH = 0x2d;
const SLASH = 0x2f;

/** Indexes into {@link PatternCounts}. */
export const EMAIL = 0;
export const NIF = 1;
/** 9-digit numbers that are not a valid NIF. */
export const NINE = 2;
/** Of {@link NINE}, those starting with 2 or 9 (phone-shaped). */
export const NINE_PHONE = 3;
export const PLUS351 = 4;
export const DATE = 5;
export const POSTCODE = 6;

/** Counts per pattern of one scan; {@link scanPatterns} adds to it. */
export type PatternCounts = Int32Array;

export function newCounts(): PatternCounts {
  return new Int32Array(7);
}

/**
 * Scans `b[s, e)` and adds what it finds to `out`; returns the number of patterns found (0 for most cells).
 * @example
 * const n = newCounts();
 * scanPatterns(new TextEncoder().encode("ana@example.pt"), 0, 14, n); // 1, n[EMAIL] === 1
 */
export function scanPatterns(b: Uint8Array, s: number, e: number, out: PatternCounts): number {
  let found = 0;
  let i = s;
  while (i < e) {
    while (i < e && (CLASS[b[i]!]! & START) === 0) i++;
    if (i >= e) break;
    const x = b[i]!;
    if (x === AT) {
      const end = emailAt(b, s, e, i);
      if (end > 0) {
        out[EMAIL]!++;
        found++;
        i = end;
      } else i++;
    } else if (x === PLUS) {
      if (i + 4 <= e && b[i + 1] === 0x33 && b[i + 2] === 0x35 && b[i + 3] === 0x31) {
        out[PLUS351]!++;
        found++;
        i += 4;
        while (i < e && (CLASS[b[i]!]! & DIGIT) !== 0) i++; // the number after the country code is the same phone
      } else i++;
    } else {
      let j = i + 1;
      while (j < e && (CLASS[b[j]!]! & DIGIT) !== 0) j++;
      const len = j - i;
      const next = j < e ? b[j]! : -1;
      if ((next === DASH || next === SLASH) && len <= 4) {
        let kind = DATE;
        let end = len === 4 ? ymdAt(b, e, i, j) : dmyAt(b, e, i, j);
        if (end === 0 && len === 4) {
          end = postcodeAt(b, e, j);
          kind = POSTCODE;
        }
        if (end > 0) {
          out[kind]!++;
          found++;
          i = end;
          continue;
        }
      } else if (len === 9 && !decimalAround(b, s, e, i, j)) {
        found++;
        if (validNif(b, i)) out[NIF]!++;
        else {
          out[NINE]!++;
          if (b[i] === 0x32 || b[i] === 0x39) out[NINE_PHONE]!++;
        }
      }
      i = j;
    }
  }
  return found;
}

/** True when the digit run `[i, j)` is part of a decimal number (`1.5`-style, either side of the point). */
function decimalAround(b: Uint8Array, s: number, e: number, i: number, j: number): boolean {
  if (i - 2 >= s && b[i - 1] === DOT && (CLASS[b[i - 2]!]! & DIGIT) !== 0) return true;
  return j + 1 < e && b[j] === DOT && (CLASS[b[j + 1]!]! & DIGIT) !== 0;
}

/** The NIF check of egress-checks.md: first digit in 1,2,3,5,6,8,9; weights 9..2; 11 - s mod 11, 10/11 -> 0. */
export function validNif(b: Uint8Array, i: number): boolean {
  const first = b[i]! - 0x30;
  if (first === 0 || first === 4 || first === 7) return false;
  let sum = 0;
  for (let k = 0; k < 8; k++) sum += (b[i + k]! - 0x30) * (9 - k);
  let check = 11 - (sum % 11);
  if (check >= 10) check = 0;
  return check === b[i + 8]! - 0x30;
}

/** Reads a run of 1-2 digits at `k`, followed by a non-digit: its value, or -1. Sets `runEnd`. */
let runEnd = 0;
function smallRun(b: Uint8Array, e: number, k: number, min: number, max: number): number {
  let j = k;
  let v = 0;
  while (j < e && (CLASS[b[j]!]! & DIGIT) !== 0) {
    v = v * 10 + b[j]! - 0x30;
    j++;
  }
  runEnd = j;
  return j - k < min || j - k > max ? -1 : v;
}

function digitsValue(b: Uint8Array, i: number, j: number): number {
  let v = 0;
  for (let k = i; k < j; k++) v = v * 10 + b[k]! - 0x30;
  return v;
}

const DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function validDate(y: number, m: number, d: number): boolean {
  if (y < 1000 || y > 2999 || m < 1 || m > 12 || d < 1 || d > DAYS[m - 1]!) return false;
  return m !== 2 || d < 29 || (y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0));
}

/** `YYYY-MM-DD` or `YYYY/MM/DD` with the year at `[i, j)`: the end of the date, or 0. */
function ymdAt(b: Uint8Array, e: number, i: number, j: number): number {
  const sep = b[j]!;
  const m = smallRun(b, e, j + 1, 1, 2);
  if (m < 0 || runEnd >= e || b[runEnd] !== sep) return 0;
  const d = smallRun(b, e, runEnd + 1, 1, 2);
  if (d < 0) return 0;
  return validDate(digitsValue(b, i, j), m, d) ? runEnd : 0;
}

/** `DD/MM/YYYY` or `DD-MM-YYYY` (or month first) with the day at `[i, j)`: the end of the date, or 0. */
function dmyAt(b: Uint8Array, e: number, i: number, j: number): number {
  if (j - i > 2) return 0;
  const sep = b[j]!;
  const first = digitsValue(b, i, j);
  const second = smallRun(b, e, j + 1, 1, 2);
  if (second < 0 || runEnd >= e || b[runEnd] !== sep) return 0;
  const y = smallRun(b, e, runEnd + 1, 4, 4);
  if (y < 0) return 0;
  return validDate(y, second, first) || validDate(y, first, second) ? runEnd : 0;
}

/** `dddd-ddd` with the four digits ending at `j`: the end of the postcode, or 0. */
function postcodeAt(b: Uint8Array, e: number, j: number): number {
  if (b[j] !== DASH) return 0;
  const v = smallRun(b, e, j + 1, 3, 3);
  return v < 0 ? 0 : runEnd;
}

/**
 * The end of the e-mail address whose `@` is at `at`, or 0: a local part of at least one character before
 * it, and after it at least two dot-separated labels, the last of at least two letters.
 */
function emailAt(b: Uint8Array, s: number, e: number, at: number): number {
  if (at === s || (CLASS[b[at - 1]!]! & LOCAL) === 0) return 0;
  let k = at + 1;
  let labels = 0;
  let lastStart = k;
  let lastEnd = k;
  for (;;) {
    const start = k;
    while (k < e && (CLASS[b[k]!]! & DOMAIN) !== 0) k++;
    if (k === start) break;
    labels++;
    lastStart = start;
    lastEnd = k;
    if (k + 1 < e && b[k] === DOT && (CLASS[b[k + 1]!]! & DOMAIN) !== 0) k++;
    else break;
  }
  if (labels < 2 || lastEnd - lastStart < 2) return 0;
  for (let t = lastStart; t < lastEnd; t++) if ((CLASS[b[t]!]! & LETTER) === 0) return 0;
  return lastEnd;
}

const latin1 = new TextDecoder("latin1");

/** Text of `b[s, e)` for the context-word tests (ASCII words, so latin1 decoding is enough). */
function asText(b: Uint8Array, s: number, e: number): string {
  return latin1.decode(b.subarray(s, e));
}

const HEALTH_WORDS = /utente|(?:^|[^a-z])sns(?:[^a-z]|$)|health[\s_.-]*(?:care[\s_.-]*)?number|patient[\s_.-]*number/i;
const BIRTH_WORDS = /birth|(?:^|[^a-z])dob(?:[^a-z]|$)|nascimento|(?:^|[^a-z])nasc(?:[^a-z]|$)/i;

/** Whether a header or line mentions utente, SNS, health number or patient number. */
export function mentionsHealthNumber(b: Uint8Array, s: number, e: number): boolean {
  return HEALTH_WORDS.test(asText(b, s, e));
}

/** Whether a header or line is about a birth date (birth, dob, nascimento). */
export function mentionsBirth(b: Uint8Array, s: number, e: number): boolean {
  return BIRTH_WORDS.test(asText(b, s, e));
}

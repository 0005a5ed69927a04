/**
 * The one normalisation applied to identifier values before they are keyed-hashed, shared by pseudonyms,
 * the CSV scanner and the identifier set so that the three always agree on what "the same value" is:
 * leading and trailing ASCII whitespace (space, tab, CR, LF, VT, FF) is ignored; everything else, case
 * included, is significant. Only ASCII is trimmed because the scanner works on UTF-8 bytes and must not
 * decode them; a value padded with, say, U+00A0 keeps its padding. A string value means its UTF-8 bytes.
 */

const encoder = new TextEncoder();

/** True for the six ASCII whitespace bytes. */
export function isAsciiSpace(b: number): boolean {
  return b === 0x20 || (b >= 0x09 && b <= 0x0d);
}

/** Index of the first non-whitespace byte of `bytes[start, end)`, or `end`. */
export function trimmedStart(bytes: Uint8Array, start: number, end: number): number {
  while (start < end && isAsciiSpace(bytes[start]!)) start++;
  return start;
}

/** Index after the last non-whitespace byte of `bytes[start, end)`, or `start`. */
export function trimmedEnd(bytes: Uint8Array, start: number, end: number): number {
  while (end > start && isAsciiSpace(bytes[end - 1]!)) end--;
  return end;
}

/**
 * Writes `value` as UTF-8 into `into` (room for `value.length * 3` bytes) and returns the byte length.
 * Short ASCII strings, such as pseudonyms, are copied by hand: TextEncoder's call overhead is several
 * times the copy at that size, and the identifier set gets one per identifier cell.
 */
export function utf8Into(value: string, into: Uint8Array): number {
  const n = value.length;
  if (n <= 64) {
    let i = 0;
    for (; i < n; i++) {
      const c = value.charCodeAt(i);
      if (c > 0x7f) break;
      into[i] = c;
    }
    if (i === n) return n;
  }
  return encoder.encodeInto(value, into).written;
}

/**
 * Per-permit pseudonyms for identifier values: `p` + the first 10 bytes of HMAC-SHA-256(key, value) in
 * lowercase base32 (RFC 4648 alphabet), 17 ASCII characters. The same value under the same permit key always
 * gives the same pseudonym, so rows of one patient stay linkable inside the permit; another permit's key
 * gives unrelated pseudonyms, so permits cannot be linked to each other. 80 bits keep collisions negligible
 * (probability ~4e-9 among 100 million distinct values, ~4e-7 among a billion) while staying short in a cell.
 *
 * Staging calls this once per identifier cell, so it is built for speed: the HMAC keeps its keyed state
 * (hmac-sha256.ts) and a bounded cache maps recently seen values straight to their pseudonym bytes, because
 * real data repeats an identifier on many rows (one per visit, prescription, lab result...).
 *
 * Values are normalised as normalise.ts says (surrounding ASCII whitespace ignored, case kept), so
 * `" PT1"` and `"PT1"` share a pseudonym, as they share an entry in the identifier set.
 */
import { ByteCache } from "./byte-cache";
import { HmacSha256 } from "./hmac-sha256";
import { trimmedEnd, trimmedStart, utf8Into } from "./normalise";

/** Length in bytes (and characters) of every pseudonym. */
export const PSEUDONYM_LENGTH = 17;

const ALPHABET = new TextEncoder().encode("abcdefghijklmnopqrstuvwxyz234567");
const PREFIX = 0x70; // "p"

/** Options for {@link Pseudonymiser}. */
export interface PseudonymiserOptions {
  /**
   * How many distinct values the cache remembers before it is cleared and refilled. 0 disables it.
   * @default 200_000 (about 12 MB)
   */
  cacheEntries?: number;
}

/**
 * Turns identifier values into pseudonyms under one permit's pseudonymisation key.
 *
 * @example
 * const p = new Pseudonymiser(permitPseudonymKey);
 * p.pseudonym("PT-0042"); // "p" + 16 base32 characters, e.g. "pq3k2...", stable for this key
 */
export class Pseudonymiser {
  readonly #mac: HmacSha256;
  readonly #cache: ByteCache | null;
  #scratch = new Uint8Array(256);

  /** @throws RangeError when the key is not 32 bytes. */
  constructor(key: Uint8Array, options: PseudonymiserOptions = {}) {
    if (key.length !== 32) throw new RangeError("the pseudonymisation key must be 32 bytes");
    this.#mac = new HmacSha256(key);
    const entries = options.cacheEntries ?? 200_000;
    this.#cache = entries > 0 ? new ByteCache(entries, PSEUDONYM_LENGTH) : null;
  }

  /** The pseudonym of a value (its UTF-8 bytes for a string); an empty or all-whitespace value gives "". */
  pseudonym(value: Uint8Array | string): string {
    let bytes: Uint8Array;
    if (typeof value === "string") {
      if (value.length === 0) return "";
      if (this.#scratch.length < value.length * 3) this.#scratch = new Uint8Array(value.length * 3);
      bytes = this.#scratch.subarray(0, utf8Into(value, this.#scratch));
    } else {
      if (value.length === 0) return "";
      bytes = value;
    }
    const out = new Uint8Array(PSEUDONYM_LENGTH);
    return this.write(bytes, 0, bytes.length, out, 0) === 0 ? "" : pseudonymString(out, 0);
  }

  /**
   * Writes the pseudonym of `bytes[start, end)` as 17 ASCII bytes at `out[offset]` and returns the offset
   * after it; an empty (or all-whitespace) value writes nothing and returns `offset`. This is the CSV
   * scanner's path: no string and no allocation per value.
   */
  #lastWasCached = false;

  /**
   * Whether the last `write` was answered from the cache: the value was seen before by this pseudonymiser
   * (since the cache last filled up). Lets callers that collect distinct values skip the repeats.
   */
  get lastWasCached(): boolean {
    return this.#lastWasCached;
  }

  write(bytes: Uint8Array, start: number, end: number, out: Uint8Array, offset: number): number {
    start = trimmedStart(bytes, start, end);
    end = trimmedEnd(bytes, start, end);
    if (end <= start) return offset;
    const cache = this.#cache !== null && this.#cache.active() ? this.#cache : null;
    if (cache?.get(bytes, start, end, out, offset)) {
      this.#lastWasCached = true;
      return offset + PSEUDONYM_LENGTH;
    }
    this.#lastWasCached = false;
    const w = this.#mac.words(bytes, start, end);
    encodePseudonym(w[0]!, w[1]!, w[2]! >>> 16, out, offset);
    cache?.put(bytes, start, end, out, offset);
    return offset + PSEUDONYM_LENGTH;
  }
}

/**
 * The pseudonym written at `b[o]` as a string. Spelled out: ~25 ns, against ~120 ns for a
 * TextDecoder over a subarray, and the CSV scanner calls it once per identifier when it reports them.
 */
export function pseudonymString(b: Uint8Array, o: number): string {
  return String.fromCharCode(
    b[o]!,
    b[o + 1]!,
    b[o + 2]!,
    b[o + 3]!,
    b[o + 4]!,
    b[o + 5]!,
    b[o + 6]!,
    b[o + 7]!,
    b[o + 8]!,
    b[o + 9]!,
    b[o + 10]!,
    b[o + 11]!,
    b[o + 12]!,
    b[o + 13]!,
    b[o + 14]!,
    b[o + 15]!,
    b[o + 16]!,
  );
}

/** `p` + base32 of the 80 bits hi(32) | mid(32) | lo(16), most significant first. */
function encodePseudonym(hi: number, mid: number, lo: number, out: Uint8Array, o: number): void {
  out[o] = PREFIX;
  // 80 bits = 16 groups of 5: 6 groups + 2 bits from hi, and so on; spelled out to stay branch-free.
  out[o + 1] = ALPHABET[(hi >>> 27) & 31]!;
  out[o + 2] = ALPHABET[(hi >>> 22) & 31]!;
  out[o + 3] = ALPHABET[(hi >>> 17) & 31]!;
  out[o + 4] = ALPHABET[(hi >>> 12) & 31]!;
  out[o + 5] = ALPHABET[(hi >>> 7) & 31]!;
  out[o + 6] = ALPHABET[(hi >>> 2) & 31]!;
  out[o + 7] = ALPHABET[((hi << 3) | (mid >>> 29)) & 31]!;
  out[o + 8] = ALPHABET[(mid >>> 24) & 31]!;
  out[o + 9] = ALPHABET[(mid >>> 19) & 31]!;
  out[o + 10] = ALPHABET[(mid >>> 14) & 31]!;
  out[o + 11] = ALPHABET[(mid >>> 9) & 31]!;
  out[o + 12] = ALPHABET[(mid >>> 4) & 31]!;
  out[o + 13] = ALPHABET[((mid << 1) | (lo >>> 15)) & 31]!;
  out[o + 14] = ALPHABET[(lo >>> 10) & 31]!;
  out[o + 15] = ALPHABET[(lo >>> 5) & 31]!;
  out[o + 16] = ALPHABET[lo & 31]!;
}

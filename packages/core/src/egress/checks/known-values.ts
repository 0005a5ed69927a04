/**
 * Answers "was this cell staged as an identifier?" for every cell of a file without paying the identifier
 * set's HMAC (~0.6 µs) per cell: aggregate outputs repeat their values (labels, small counts, rounded
 * statistics), so the answers are kept, keyed by the value's bytes and looked up without building a string.
 * Three tables, by the value's length: a direct one for 1-2 bytes; an open-addressed one keyed by the
 * value itself packed into two words for 3-7 bytes (most numbers and codes, ~15-25 ns a hit); a hashed one
 * for 8-64 bytes. Each holds at most `capacity` answers and is cleared in one go when full; values longer
 * than 64 bytes are asked every time (identifiers are short). The caller passes values trimmed of ASCII
 * whitespace, as staging normalises them. Memory: ~2 MB at the default capacity.
 */

const MAX_KEY_BYTES = 64;
const MAX_PROBES = 8;
/** Values up to this long are kept in the short table (three bytes of the high word, one of tags). */
const SHORT_BYTES = 7;
const USED = 1 << 4;
const ANSWER = 1 << 30;
const M1 = 0x9e3779b1 | 0;
const M2 = 0x85ebca6b | 0;
const M3 = 0xc2b2ae35 | 0;

const utf8 = new TextDecoder("utf-8");

/** @internal */
export class KnownValues {
  readonly #lookup: (b: Uint8Array, s: number, e: number) => boolean;
  readonly #capacity: number;
  readonly #mask: number;
  /** Per slot: the key's hash, then its entry + 1 (0: empty). One cache line holds both. */
  readonly #table: Int32Array;
  /** Per entry: where its key starts in #keys, then its length | answer << 8. */
  readonly #entries: Int32Array;
  readonly #keys: Uint8Array;
  #count = 0;
  #keyEnd = 0;
  /**
   * Values of at most 7 bytes (most cells: numbers, codes, short labels) have a table of their own keyed by
   * the value itself, packed into two 32-bit words: no separate hash pass and no byte-by-byte compare.
   * Per slot: bytes 0-3, then bytes 4-6 | (length | used) << 24 | answer << 30.
   */
  readonly #short: Int32Array;
  readonly #shortMask: number;
  #shortCount = 0;
  /** Answers for values of one or two bytes: 0 not asked yet, 1 no, 2 yes. */
  readonly #tiny = new Uint8Array(256 + 65536);
  /** Calls of the lookup function (a diagnostic for the bench). */
  lookups = 0;

  /** A cache in front of a lookup of byte ranges (see {@link KnownValues.of} for a lookup of strings). */
  constructor(lookup: (b: Uint8Array, s: number, e: number) => boolean, capacity = 1 << 15) {
    this.#lookup = lookup;
    this.#capacity = capacity;
    let size = 1;
    while (size < capacity * 2) size <<= 1;
    this.#mask = size - 1;
    this.#table = new Int32Array(size * 2);
    this.#entries = new Int32Array(capacity * 2);
    this.#keys = new Uint8Array(capacity * 16);
    this.#short = new Int32Array(size * 2);
    this.#shortMask = size - 1;
  }

  /** Whether the (already trimmed, non-empty) value `b[s, e)` is a known identifier. */
  has(b: Uint8Array, s: number, e: number): boolean {
    const len = e - s;
    if (len <= 2) {
      // One- and two-byte values (sex, flags, small numbers) are answered from a direct table.
      const i = len === 1 ? b[s]! : 256 + (b[s]! | (b[s + 1]! << 8));
      const known = this.#tiny[i]!;
      if (known !== 0) return known === 2;
      const answer = this.#ask(b, s, e);
      this.#tiny[i] = answer ? 2 : 1;
      return answer;
    }
    if (len > SHORT_BYTES) return this.#hasLong(b, s, e);
    let lo = 0;
    let hi = 0;
    const mid = len < 4 ? e : s + 4;
    for (let i = s, shift = 0; i < mid; i++, shift += 8) lo |= b[i]! << shift;
    for (let i = mid, shift = 0; i < e; i++, shift += 8) hi |= b[i]! << shift;
    // The top byte of the high word holds the length, whether the slot is used, and the answer.
    hi |= (len | USED) << 24;
    let h = Math.imul(lo ^ Math.imul(hi, M1), M2);
    h ^= h >>> 15;
    const t = this.#short;
    const mask = this.#shortMask;
    let slot = h & mask;
    for (let probe = 0; probe < MAX_PROBES; probe++, slot = (slot + 1) & mask) {
      const tagged = t[2 * slot + 1]!;
      if (tagged === 0) {
        const answer = this.#ask(b, s, e);
        if (this.#shortCount >= this.#capacity) {
          t.fill(0);
          this.#shortCount = 0;
          slot = h & mask;
        }
        t[2 * slot] = lo;
        t[2 * slot + 1] = answer ? hi | ANSWER : hi;
        this.#shortCount++;
        return answer;
      }
      if ((tagged & ~ANSWER) === hi && t[2 * slot] === lo) return (tagged & ANSWER) !== 0;
    }
    return this.#ask(b, s, e);
  }

  #hasLong(b: Uint8Array, s: number, e: number): boolean {
    const len = e - s;
    if (len > MAX_KEY_BYTES) return this.#ask(b, s, e);
    const h = hashBytes(b, s, e);
    const table = this.#table;
    const entries = this.#entries;
    const keys = this.#keys;
    const mask = this.#mask;
    let slot = h & mask;
    for (let probe = 0; probe < MAX_PROBES; probe++) {
      const entry = table[2 * slot + 1]! - 1;
      if (entry < 0) break;
      if (table[2 * slot] === h) {
        const k = entries[2 * entry]!;
        const meta = entries[2 * entry + 1]!;
        if ((meta & 0xff) === len) {
          let i = 0;
          while (i < len && keys[k + i] === b[s + i]) i++;
          if (i === len) return meta >> 8 === 1;
        }
      }
      slot = (slot + 1) & mask;
    }
    const answer = this.#ask(b, s, e);
    this.#remember(b, s, e, h, answer);
    return answer;
  }

  #remember(b: Uint8Array, s: number, e: number, h: number, answer: boolean): void {
    const len = e - s;
    if (this.#count === this.#capacity || this.#keyEnd + len > this.#keys.length) {
      this.#table.fill(0);
      this.#count = 0;
      this.#keyEnd = 0;
    }
    const table = this.#table;
    let slot = h & this.#mask;
    for (let probe = 0; probe < MAX_PROBES; probe++, slot = (slot + 1) & this.#mask) {
      if (table[2 * slot + 1] !== 0) continue;
      const entry = this.#count++;
      table[2 * slot] = h;
      table[2 * slot + 1] = entry + 1;
      this.#entries[2 * entry] = this.#keyEnd;
      this.#entries[2 * entry + 1] = len | ((answer ? 1 : 0) << 8);
      const keys = this.#keys;
      for (let i = 0; i < len; i++) keys[this.#keyEnd + i] = b[s + i]!;
      this.#keyEnd += len;
      return;
    }
  }

  #ask(b: Uint8Array, s: number, e: number): boolean {
    this.lookups++;
    return this.#lookup(b, s, e);
  }

  /** A cache in front of `knownIdentifier`, which takes the value as a string. */
  static of(lookup: (value: string) => boolean): KnownValues {
    return new KnownValues((b, s, e) => lookup(decode(b, s, e)));
  }
}

/** The value as a string: short ASCII by hand (TextDecoder's call costs more than such a value). */
function decode(b: Uint8Array, s: number, e: number): string {
  if (e - s <= 32) {
    let ascii = true;
    for (let i = s; i < e; i++) if (b[i]! > 0x7f) ascii = false;
    if (ascii) {
      let out = "";
      for (let i = s; i < e; i++) out += String.fromCharCode(b[i]!);
      return out;
    }
  }
  return utf8.decode(b.subarray(s, e));
}

/**
 * Four bytes per multiply, then murmur3's finaliser, so the low bits depend on every byte hashed. A value
 * longer than 16 bytes is hashed by its length, first 8 and last 8 bytes: labels differ there, and a
 * collision only costs a byte comparison.
 */
function hashBytes(b: Uint8Array, s: number, e: number): number {
  let h = (e - s) | 0;
  if (e - s > 16) {
    h = mix4(h, b, s);
    h = mix4(h, b, s + 4);
    h = mix4(h, b, e - 8);
    h = mix4(h, b, e - 4);
  } else {
    let i = s;
    for (; i + 4 <= e; i += 4) h = mix4(h, b, i);
    for (; i < e; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  }
  h = Math.imul(h ^ (h >>> 16), M2);
  h = Math.imul(h ^ (h >>> 13), M3);
  return h ^ (h >>> 16);
}

function mix4(h: number, b: Uint8Array, i: number): number {
  h = Math.imul(h ^ (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)), M1);
  return h ^ (h >>> 15);
}

/**
 * A bounded cache keyed by short byte strings, for the per-identifier hot paths of staging (pseudonyms,
 * the identifier set): real data repeats an identifier on many rows, and a hit here costs ~80 ns where
 * the HMAC it saves costs ~500 ns. Internal to the staging module.
 *
 * It is an open-addressing hash table over flat typed arrays: a `Map` keyed by a latin1 string of the value
 * costs ~130 ns per lookup (building the string dominates) and allocates. When full it is cleared in one go
 * rather than evicting entry by entry. It also watches its own hit rate: a hit saves ~0.5 µs and a miss
 * costs ~0.1 µs, so below one hit in eight lookups (all-distinct values, such as record numbers) it tells
 * its caller to bypass it for a while, then tries again in case the data changed. Entries stay valid
 * while bypassed: what they map to never changes.
 */

/** Values longer than this are not cached: identifiers are short, and it keeps the key arena bounded. */
const MAX_KEY_BYTES = 64;
/** Probes before giving up on a slot: bounds the cost of a crafted run of colliding values. */
const MAX_PROBES = 16;
/** Lookups per hit-rate measurement, and how many windows a poor one is bypassed for. */
const WINDOW = 1 << 16;
const BYPASS_WINDOWS = 16;

/** @internal A bounded map from byte strings to `valueBytes`-byte values (0: a set). */
export class ByteCache {
  readonly #capacity: number;
  readonly #valueBytes: number;
  readonly #mask: number;
  readonly #slots: Int32Array; // entry index + 1, 0 = empty
  readonly #hashes: Int32Array;
  readonly #keyStart: Int32Array;
  readonly #keyLength: Uint8Array;
  readonly #keys: Uint8Array;
  readonly #values: Uint8Array;
  #count = 0;
  #keyEnd = 0;
  /** What the last missed `get` found: the key's hash and the empty slot ending its probe run (-1: none). */
  #lastHash = 0;
  #freeSlot = -1;
  #lookups = 0;
  #hits = 0;
  #bypass = 0;

  constructor(capacity: number, valueBytes: number) {
    this.#capacity = capacity;
    this.#valueBytes = valueBytes;
    let size = 1;
    while (size < capacity * 2) size <<= 1;
    this.#mask = size - 1;
    this.#slots = new Int32Array(size);
    this.#hashes = new Int32Array(capacity);
    this.#keyStart = new Int32Array(capacity);
    this.#keyLength = new Uint8Array(capacity);
    // Room for the typical identifier (<= 24 bytes); the table is cleared early if longer keys fill it.
    this.#keys = new Uint8Array(capacity * 24);
    this.#values = new Uint8Array(capacity * valueBytes);
  }

  /** Whether to consult the cache for this lookup: false while it is bypassed for a poor hit rate. */
  active(): boolean {
    if (this.#bypass > 0) {
      this.#bypass--;
      return false;
    }
    if (++this.#lookups === WINDOW) {
      if (this.#hits * 8 < this.#lookups) this.#bypass = WINDOW * BYPASS_WINDOWS;
      this.#lookups = 0;
      this.#hits = 0;
    }
    return true;
  }

  /** On a hit, copies the value to `out[o]` (if any) and returns true; on a miss, returns false. */
  get(bytes: Uint8Array, start: number, end: number, out: Uint8Array | null, o: number): boolean {
    this.#freeSlot = -1;
    const len = end - start;
    if (len > MAX_KEY_BYTES) return false;
    const h = hashBytes(bytes, start, end);
    this.#lastHash = h;
    const keys = this.#keys;
    for (let probe = 0, slot = h & this.#mask; probe < MAX_PROBES; probe++, slot = (slot + 1) & this.#mask) {
      const entry = this.#slots[slot]! - 1;
      if (entry < 0) {
        this.#freeSlot = slot;
        return false;
      }
      if (this.#hashes[entry] !== h || this.#keyLength[entry] !== len) continue;
      const k = this.#keyStart[entry]!;
      let i = 0;
      while (i < len && keys[k + i] === bytes[start + i]) i++;
      if (i < len) continue;
      this.#hits++;
      if (out !== null) {
        const values = this.#values;
        const n = this.#valueBytes;
        for (let j = 0, v = entry * n; j < n; j++) out[o + j] = values[v + j]!;
      }
      return true;
    }
    return false;
  }

  /**
   * Remembers `value[o, o + valueBytes)` for `bytes[start, end)`, which the last `get` missed (it left the
   * free slot it found, so the key is not hashed twice); clears the table first when it is full.
   */
  put(bytes: Uint8Array, start: number, end: number, value: Uint8Array | null, o: number): void {
    const len = end - start;
    let slot = this.#freeSlot;
    if (slot < 0) return;
    this.#freeSlot = -1;
    if (this.#count === this.#capacity || this.#keyEnd + len > this.#keys.length) {
      this.#slots.fill(0);
      this.#count = 0;
      this.#keyEnd = 0;
      slot = this.#lastHash & this.#mask;
    }
    const entry = this.#count++;
    this.#slots[slot] = entry + 1;
    this.#hashes[entry] = this.#lastHash;
    this.#keyStart[entry] = this.#keyEnd;
    this.#keyLength[entry] = len;
    // Byte loops, not set(subarray(...)): a subarray is an object allocation, dearer than a short copy.
    const keys = this.#keys;
    for (let i = 0, k = this.#keyEnd; i < len; i++, k++) keys[k] = bytes[start + i]!;
    this.#keyEnd += len;
    if (value !== null) {
      const values = this.#values;
      const n = this.#valueBytes;
      for (let j = 0, v = entry * n; j < n; j++) values[v + j] = value[o + j]!;
    }
  }
}

/**
 * A multiplicative hash taking four bytes per step (FNV-1a's byte-at-a-time chain of multiplications was a
 * measurable share of a cache hit), finished with murmur3's avalanche so the low bits used as the table
 * index depend on every byte. Not keyed: the probe limit is what bounds the cost of crafted collisions.
 */
function hashBytes(bytes: Uint8Array, start: number, end: number): number {
  let h = (end - start) | 0;
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const k = bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    h = Math.imul(h ^ k, 0x9e3779b1);
    h ^= h >>> 15;
  }
  for (; i < end; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

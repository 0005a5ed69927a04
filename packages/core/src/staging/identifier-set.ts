/**
 * The identifier values seen at staging (originals and pseudonyms), kept as a keyed-hash set so that the
 * egress checks can later ask "does this output cell hold a known identifier?" without the set holding a
 * single identifier in the clear: it stores bits of HMAC-SHA-256(detection key, value) only, and without
 * the key its bits say nothing about which values are in it.
 *
 * It is a scalable Bloom filter (Almeida et al., 2007): a list of slices, each a Bloom filter for a fixed
 * number of values (`sliceCapacity`); a new slice is added when the last one is full, so memory grows in
 * fixed steps with the number of distinct values (~4 bytes each at the default rate) and never jumps. To keep
 * the overall false-positive rate under the target however many slices there are, slice i gets a share
 * p_i = P * 6 / (pi^2 (i+1)^2) of it (the shares sum to P): its bits per value grow by ~2.9 * log2(i+1),
 * not linearly as with the usual geometric tightening, so a set of 100 slices still costs < 7 bytes a value.
 * Each slice's size is a prime number of bits, so double hashing visits k distinct positions.
 *
 * Values are normalised as normalise.ts says: surrounding ASCII whitespace ignored, case significant.
 * There are no false negatives; a false positive (a value reported present that never was) happens with
 * probability <= the target rate (default 1e-6) per query.
 *
 * Staging adds every identifier cell, so most adds repeat a value: a bounded cache of recently added
 * values (byte-cache.ts) answers those without an HMAC. It lives in memory only, next to the data being
 * staged, and is never part of `toBytes()`.
 */
import { Buffer } from "node:buffer";
import { createHmac, hkdfSync, timingSafeEqual } from "node:crypto";
import { ByteCache } from "./byte-cache";
import { IntegrityError } from "./errors";
import { HmacSha256 } from "./hmac-sha256";
import { trimmedEnd, trimmedStart, utf8Into } from "./normalise";

/** Options for {@link IdentifierSet}. */
export interface IdentifierSetOptions {
  /** Distinct values per slice (the memory step: ~4 bytes per value). @default 1_048_576 */
  sliceCapacity?: number;
  /** Target false-positive rate of a query, over all slices together. @default 1e-6 */
  falsePositiveRate?: number;
}

interface Slice {
  /** Bit positions probed per value. */
  k: number;
  /** Size in bits: a prime. */
  m: number;
  /** Values inserted. */
  fill: number;
  bits: Uint32Array;
}

const MAGIC = [0x53, 0x50, 0x45, 0x49]; // "SPEI"
const VERSION = 1;
const FIXED = 32;
const SLICE_HEADER = 12;
const MAC_BYTES = 32;
/** Keeps a slice's size in bits below 2^32 for any number of slices. */
const MAX_SLICE_CAPACITY = 1 << 24;
const MAX_SLICES = 100_000;

const MAC_INFO = "spe identifier-set mac v1";
const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * A keyed-hash set of identifier values (see the module comment).
 *
 * @example
 * const seen = new IdentifierSet(detectionKey);
 * seen.add("PT-0042");
 * seen.has(" PT-0042 "); // true: whitespace around a value is ignored
 * const restored = IdentifierSet.fromBytes(detectionKey, seen.toBytes());
 */
export class IdentifierSet {
  readonly #hash: HmacSha256;
  readonly #macKey: Uint8Array;
  readonly #capacity: number;
  readonly #rate: number;
  readonly #slices: Slice[] = [];
  /** Values recently added, so a repeated identifier (one per row of a patient) skips the HMAC. */
  readonly #recent = new ByteCache(100_000, 0);
  #count = 0;
  #scratch = new Uint8Array(256);
  /** The normalised range of the last value prepared, in #bytes. */
  #bytes: Uint8Array = this.#scratch;
  #start = 0;
  #end = 0;

  /** @throws RangeError on a key that is not 32 bytes or options out of range. */
  constructor(key: Uint8Array, options: IdentifierSetOptions = {}) {
    if (key.length !== 32) throw new RangeError("the detection key must be 32 bytes");
    const capacity = options.sliceCapacity ?? 1 << 20;
    const rate = options.falsePositiveRate ?? 1e-6;
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > MAX_SLICE_CAPACITY) {
      throw new RangeError(`sliceCapacity must be an integer from 1 to ${MAX_SLICE_CAPACITY}`);
    }
    if (!(rate > 0 && rate < 0.5)) throw new RangeError("falsePositiveRate must be between 0 and 0.5");
    // Two keys from one: the value hashes and the MAC that seals toBytes() never share a key.
    this.#hash = new HmacSha256(subkey(key, "spe identifier-set hash v1"));
    this.#macKey = subkey(key, MAC_INFO);
    this.#capacity = capacity;
    this.#rate = rate;
  }

  /** Distinct values added (a value whose hash bits were all already set counts as present, not new). */
  get count(): number {
    return this.#count;
  }

  /** Bytes of filter held in memory. */
  get byteLength(): number {
    return this.#slices.reduce((n, s) => n + s.bits.byteLength, 0);
  }

  /** Adds a value; returns false when it was (probably) present already, or is empty after trimming. */
  add(value: Uint8Array | string): boolean {
    if (!this.#prepare(value)) return false;
    const bytes = this.#bytes;
    const start = this.#start;
    const end = this.#end;
    const recent = this.#recent.active() ? this.#recent : null;
    if (recent?.get(bytes, start, end, null, 0)) return false;
    const w = this.#hash.words(bytes, start, end);
    const a = w[0]!;
    const b = w[1]!;
    const added = !this.#contains(a, b);
    if (added) this.#insert(a, b);
    recent?.put(bytes, start, end, null, 0);
    return added;
  }

  /** True when the value was added (or, with probability <= the target rate, when it was not). */
  has(value: Uint8Array | string): boolean {
    if (!this.#prepare(value)) return false;
    const w = this.#hash.words(this.#bytes, this.#start, this.#end);
    return this.#contains(w[0]!, w[1]!);
  }

  #insert(a: number, b: number): void {
    let last = this.#slices.at(-1);
    if (last === undefined || last.fill === this.#capacity) {
      last = newSlice(this.#slices.length, this.#capacity, this.#rate);
      this.#slices.push(last);
    }
    const index = this.#slices.length - 1;
    const { m, k, bits } = last;
    let x = (mix(a, index) >>> 0) % m;
    const step = 1 + ((mix(b, index + 0x51ed27) >>> 0) % (m - 1));
    for (let j = 0; j < k; j++) {
      bits[x >>> 5]! |= 1 << (x & 31);
      x += step;
      if (x >= m) x -= m;
    }
    last.fill++;
    this.#count++;
  }

  #contains(a: number, b: number): boolean {
    const slices = this.#slices;
    for (let i = 0; i < slices.length; i++) {
      const { m, k, bits } = slices[i]!;
      let x = (mix(a, i) >>> 0) % m;
      const step = 1 + ((mix(b, i + 0x51ed27) >>> 0) % (m - 1));
      let j = 0;
      while (j < k && (bits[x >>> 5]! & (1 << (x & 31))) !== 0) {
        x += step;
        if (x >= m) x -= m;
        j++;
      }
      if (j === k) return true;
    }
    return false;
  }

  /** Normalises a value into #bytes[#start, #end); false when it is empty after trimming. */
  #prepare(value: Uint8Array | string): boolean {
    let bytes: Uint8Array;
    if (typeof value === "string") {
      if (this.#scratch.length < value.length * 3) this.#scratch = new Uint8Array(value.length * 3);
      bytes = this.#scratch;
      this.#end = utf8Into(value, bytes);
    } else {
      bytes = value;
      this.#end = bytes.length;
    }
    this.#bytes = bytes;
    this.#start = trimmedStart(bytes, 0, this.#end);
    this.#end = trimmedEnd(bytes, this.#start, this.#end);
    return this.#end > this.#start;
  }

  /**
   * The set as a versioned, MAC-sealed blob (to be stored encrypted beside the staged files):
   * `"SPEI" | version | 3 zero bytes | rate (f64) | slice capacity (u32) | slices (u32) | count (f64)`, then
   * per slice `k (u32) | m (u32) | fill (u32) | bits (u32 little-endian words)`, then
   * HMAC-SHA-256 under a key derived from the detection key. Integers big-endian unless said otherwise.
   */
  toBytes(): Uint8Array {
    const size = FIXED + this.#slices.reduce((n, s) => n + SLICE_HEADER + s.bits.byteLength, 0) + MAC_BYTES;
    const out = Buffer.alloc(size);
    out.set(MAGIC, 0);
    out[4] = VERSION;
    out.writeDoubleBE(this.#rate, 8);
    out.writeUInt32BE(this.#capacity, 16);
    out.writeUInt32BE(this.#slices.length, 20);
    out.writeDoubleBE(this.#count, 24);
    let o = FIXED;
    for (const s of this.#slices) {
      out.writeUInt32BE(s.k, o);
      out.writeUInt32BE(s.m, o + 4);
      out.writeUInt32BE(s.fill, o + 8);
      o += SLICE_HEADER;
      if (littleEndian) out.set(new Uint8Array(s.bits.buffer, s.bits.byteOffset, s.bits.byteLength), o);
      else for (let i = 0; i < s.bits.length; i++) out.writeUInt32LE(s.bits[i]!, o + 4 * i);
      o += s.bits.byteLength;
    }
    createHmac("sha256", this.#macKey).update(out.subarray(0, o)).digest().copy(out, o);
    return out;
  }

  /**
   * Restores a set from {@link IdentifierSet.toBytes}.
   * @throws IntegrityError (`staging.integrity`) when the blob is corrupt, truncated, of an unknown version
   *   or sealed under another key.
   */
  static fromBytes(key: Uint8Array, bytes: Uint8Array): IdentifierSet {
    const bad = (what: string) => new IntegrityError(`identifier set: ${what}`);
    const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (b.length < FIXED + MAC_BYTES) throw bad("truncated");
    for (let i = 0; i < MAGIC.length; i++) if (b[i] !== MAGIC[i]) throw bad("not an identifier set");
    if (b[4] !== VERSION) throw bad(`unsupported version ${b[4]}`);
    const body = b.subarray(0, b.length - MAC_BYTES);
    if (key.length !== 32) throw new RangeError("the detection key must be 32 bytes");
    const mac = createHmac("sha256", subkey(key, MAC_INFO)).update(body).digest();
    if (!timingSafeEqual(mac, b.subarray(body.length))) {
      throw bad("failed authentication (corrupt, or sealed under another key)");
    }
    // Authentic, so written by toBytes(); still checked, so that a bug cannot turn into a silent miss.
    const rate = b.readDoubleBE(8);
    const capacity = b.readUInt32BE(16);
    const sliceCount = b.readUInt32BE(20);
    const count = b.readDoubleBE(24);
    if (!(rate > 0 && rate < 0.5) || capacity < 1 || capacity > MAX_SLICE_CAPACITY || sliceCount > MAX_SLICES) {
      throw bad("bad parameters");
    }
    const set = new IdentifierSet(key, { sliceCapacity: capacity, falsePositiveRate: rate });
    let o = FIXED;
    let total = 0;
    for (let i = 0; i < sliceCount; i++) {
      if (o + SLICE_HEADER > body.length) throw bad("truncated");
      const expected = sliceShape(i, capacity, rate);
      const k = b.readUInt32BE(o);
      const m = b.readUInt32BE(o + 4);
      const fill = b.readUInt32BE(o + 8);
      o += SLICE_HEADER;
      const words = Math.ceil(m / 32);
      const last = i === sliceCount - 1;
      if (k !== expected.k || m !== expected.m || fill > capacity || (!last && fill !== capacity) || fill === 0) {
        throw bad(`slice ${i} is malformed`);
      }
      if (o + 4 * words > body.length) throw bad("truncated");
      const bits = new Uint32Array(words);
      if (littleEndian) new Uint8Array(bits.buffer).set(b.subarray(o, o + 4 * words));
      else for (let j = 0; j < words; j++) bits[j] = b.readUInt32LE(o + 4 * j);
      o += 4 * words;
      set.#slices.push({ k, m, fill, bits });
      total += fill;
    }
    if (o !== body.length) throw bad("trailing bytes");
    if (count !== total) throw bad("count does not match its slices");
    set.#count = count;
    return set;
  }
}

function subkey(key: Uint8Array, info: string): Uint8Array {
  return new Uint8Array(hkdfSync("sha256", key, new Uint8Array(0), info, 32));
}

/** murmur3's 32-bit finaliser over `x` and a slice number: independent-looking positions per slice. */
function mix(x: number, salt: number): number {
  let h = x ^ Math.imul(salt + 1, 0x9e3779b9);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** k and m of slice `i`: its share of the rate, p_i = P * 6 / (pi^2 (i+1)^2), at its full capacity. */
function sliceShape(i: number, capacity: number, rate: number): { k: number; m: number } {
  const p = (rate * 6) / (Math.PI * Math.PI * (i + 1) * (i + 1));
  const k = Math.ceil(Math.log2(1 / p));
  // For a filter of m bits holding n values, k = m/n * ln 2 probes minimise the rate, which is then 2^-k.
  return { k, m: nextPrime(Math.max(3, Math.ceil((capacity * k) / Math.LN2))) };
}

function newSlice(i: number, capacity: number, rate: number): Slice {
  const { k, m } = sliceShape(i, capacity, rate);
  return { k, m, fill: 0, bits: new Uint32Array(Math.ceil(m / 32)) };
}

function nextPrime(n: number): number {
  for (let c = n % 2 === 0 ? n + 1 : n; ; c += 2) {
    let prime = true;
    for (let d = 3; d * d <= c; d += 2) {
      if (c % d === 0) {
        prime = false;
        break;
      }
    }
    if (prime) return c;
  }
}

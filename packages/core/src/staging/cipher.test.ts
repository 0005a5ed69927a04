import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { mulberry32 as rng } from "../prng";
import { DEFAULT_CHUNK_BYTES, decryptStream, encryptStream } from "./cipher";
import { IntegrityError } from "./errors";
import { collect, whole } from "./test-streams";

const KEY = randomBytes(32);
const BINDING = "permit/P-1/workspace/ws-1/staging/ds-1/visits.csv";
const CHUNK = 1000;
const HEADER = 4 + 1 + 4 + 16 + 2 + Buffer.byteLength(BINDING);
const RECORD = 12 + CHUNK + 16;

/** Yields `bytes` in pieces of random sizes: single bytes, small pieces and pieces larger than a chunk. */
async function* split(bytes: Uint8Array, seed: number): AsyncGenerator<Uint8Array> {
  const next = rng(seed);
  let p = 0;
  while (p < bytes.length) {
    const r = next();
    const n = r < 0.2 ? 1 : r < 0.7 ? 1 + Math.floor(next() * 300) : 1 + Math.floor(next() * 5000);
    yield bytes.slice(p, p + n);
    p += n;
  }
}

const seal = (plain: Uint8Array, chunkBytes = CHUNK) =>
  collect(encryptStream(whole(plain), KEY, BINDING, { chunkBytes }));

/** Decrypts, returning what was yielded before the error (if any) and the error. */
async function open(sealed: Uint8Array, key = KEY, binding = BINDING, seed?: number) {
  const yielded: Uint8Array[] = [];
  try {
    for await (const p of decryptStream(seed === undefined ? whole(sealed) : split(sealed, seed), key, binding)) {
      yielded.push(p);
    }
    return { plain: Buffer.concat(yielded), error: null };
  } catch (error) {
    return { plain: Buffer.concat(yielded), error };
  }
}

const SIZES = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3.5 * CHUNK, 10 * CHUNK];

describe("encryptStream / decryptStream", () => {
  it("round-trip every size around the chunk boundaries, whatever the split of either stream", async () => {
    for (const size of SIZES) {
      const plain = randomBytes(size);
      for (let seed = 1; seed <= 5; seed++) {
        const sealed = await collect(encryptStream(split(plain, seed), KEY, BINDING, { chunkBytes: CHUNK }));
        expect(sealed.length).toBe(HEADER + (Math.floor(size / CHUNK) + 1) * 28 + size);
        const { plain: back, error } = await open(sealed, KEY, BINDING, seed + 100);
        expect(error).toBeNull();
        expect(back.equals(plain)).toBe(true);
      }
    }
  });

  it("round-trip with the default 1 MiB chunk and source pieces far larger than a chunk", async () => {
    const plain = randomBytes(2.5 * DEFAULT_CHUNK_BYTES);
    const sealed = await collect(encryptStream(whole(plain), KEY, BINDING));
    const { plain: back, error } = await open(sealed);
    expect(error).toBeNull();
    expect(back.equals(plain)).toBe(true);
  });

  it("never produce the same ciphertext twice for the same plaintext (fresh salt and nonces)", async () => {
    const plain = randomBytes(3 * CHUNK);
    const a = await seal(plain);
    const b = await seal(plain);
    expect(a.subarray(HEADER).equals(b.subarray(HEADER))).toBe(false);
    expect(a.includes(plain.subarray(0, 32))).toBe(false);
  });

  it("detect a bit flip anywhere and yield nothing from the altered chunk", async () => {
    const plain = randomBytes(2.5 * CHUNK);
    const sealed = await seal(plain);
    // Every byte of the header, and bytes spread over each chunk's nonce, ciphertext and tag.
    const positions = new Set<number>();
    for (let i = 0; i < HEADER; i++) positions.add(i);
    for (let i = HEADER; i < sealed.length; i += 7) positions.add(i);
    for (let c = 0; c < 3; c++) {
      const start = HEADER + c * RECORD;
      for (const o of [0, 11, 12, 13, CHUNK + 11, CHUNK + 12, CHUNK + 27]) {
        if (start + o < sealed.length) positions.add(start + o);
      }
    }
    positions.add(sealed.length - 1);
    for (const pos of positions) {
      const bad = Buffer.from(sealed);
      bad[pos]! ^= 1 << (pos % 8);
      const { plain: got, error } = await open(bad, KEY, BINDING, pos);
      expect(error, `flip at ${pos}`).toBeInstanceOf(IntegrityError);
      const chunk = pos < HEADER ? 0 : Math.floor((pos - HEADER) / RECORD);
      // Only whole chunks before the altered one may have come out, and they are the real ones.
      expect(got.length).toBeLessThanOrEqual(chunk * CHUNK);
      expect(got.equals(plain.subarray(0, got.length))).toBe(true);
    }
  });

  it("detect truncation at every length, at a chunk boundary included", async () => {
    const plain = randomBytes(2 * CHUNK + 10);
    const sealed = await seal(plain);
    for (let len = 0; len < sealed.length; len++) {
      const { plain: got, error } = await open(sealed.subarray(0, len));
      expect(error, `cut at ${len}`).toBeInstanceOf(IntegrityError);
      expect(got.equals(plain.subarray(0, got.length))).toBe(true);
    }
    const atBoundary = await open(sealed.subarray(0, HEADER + 2 * RECORD));
    expect((atBoundary.error as Error).message).toMatch(/chunk 2 \(the final chunk\) is missing/);
    expect(atBoundary.plain.equals(plain.subarray(0, 2 * CHUNK))).toBe(true);
  });

  it("detect a missing final chunk when the plaintext is a multiple of the chunk size", async () => {
    const sealed = await seal(randomBytes(2 * CHUNK));
    const { error } = await open(sealed.subarray(0, sealed.length - 28));
    expect(error).toBeInstanceOf(IntegrityError);
  });

  it("detect bytes after the final chunk", async () => {
    for (const size of [0, CHUNK, 2.5 * CHUNK]) {
      const sealed = await seal(randomBytes(size));
      for (const extra of [Buffer.from([0]), randomBytes(100), randomBytes(RECORD), sealed.subarray(-28)]) {
        const { error } = await open(Buffer.concat([sealed, extra]));
        expect(error, `size ${size} + ${extra.length}`).toBeInstanceOf(IntegrityError);
      }
    }
  });

  it("detect reordered, duplicated and dropped chunks", async () => {
    const plain = randomBytes(3.5 * CHUNK);
    const sealed = await seal(plain);
    const header = sealed.subarray(0, HEADER);
    const records = [0, 1, 2, 3].map((i) => sealed.subarray(HEADER + i * RECORD, HEADER + (i + 1) * RECORD));
    const variants = {
      swapped: [records[1], records[0], records[2], records[3]],
      duplicated: [records[0], records[0], records[1], records[2], records[3]],
      dropped: [records[0], records[2], records[3]],
      finalMoved: [records[0], records[1], records[3], records[2]],
    };
    for (const [name, parts] of Object.entries(variants)) {
      const { plain: got, error } = await open(Buffer.concat([header, ...(parts as Buffer[])]));
      expect(error, name).toBeInstanceOf(IntegrityError);
      expect(got.equals(plain.subarray(0, got.length))).toBe(true);
    }
  });

  it("refuse a wrong key and a file moved to another name or permit, yielding nothing", async () => {
    const sealed = await seal(randomBytes(2 * CHUNK));
    const wrongKey = await open(sealed, randomBytes(32));
    expect(wrongKey.error).toBeInstanceOf(IntegrityError);
    expect((wrongKey.error as Error).message).toMatch(/chunk 0 failed authentication/);
    expect(wrongKey.plain.length).toBe(0);
    for (const other of [
      "permit/P-2/workspace/ws-1/staging/ds-1/visits.csv",
      "permit/P-1/workspace/ws-1/staging/ds-1/visits.csv2",
    ]) {
      const moved = await open(sealed, KEY, other);
      expect(moved.error).toBeInstanceOf(IntegrityError);
      expect(moved.plain.length).toBe(0);
    }
  });

  it("refuse a header whose binding was rewritten to the reader's location", async () => {
    // An attacker who swaps the binding in the header (same length) still fails every chunk's tag.
    const sealed = await seal(randomBytes(CHUNK));
    const forged = Buffer.from(sealed);
    forged.write(BINDING.replace("P-1", "P-9"), HEADER - Buffer.byteLength(BINDING));
    const { error, plain } = await open(forged, KEY, BINDING.replace("P-1", "P-9"));
    expect(error).toBeInstanceOf(IntegrityError);
    expect((error as Error).message).toMatch(/chunk 0/);
    expect(plain.length).toBe(0);
  });

  it("report an integrity error as a domain error that names the chunk and no data", async () => {
    const plain = Buffer.from("patient PT-0042 secret ".repeat(100));
    const sealed = await seal(plain);
    sealed[HEADER + RECORD + 40]! ^= 1;
    const { error } = await open(sealed);
    expect(error).toMatchObject({ kind: "unavailable", code: "staging.integrity" });
    expect((error as Error).message).toMatch(/chunk 1/);
    expect((error as Error).message).not.toMatch(/PT-0042/);
  });

  it("refuse bad arguments up front", async () => {
    await expect(seal(Buffer.alloc(1), 0)).rejects.toThrow(RangeError);
    await expect(collect(encryptStream(whole(Buffer.alloc(1)), randomBytes(16), BINDING))).rejects.toThrow(RangeError);
    await expect(collect(encryptStream(whole(Buffer.alloc(1)), KEY, ""))).rejects.toThrow(RangeError);
  });
});

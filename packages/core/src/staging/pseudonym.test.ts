import { createHmac, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { PSEUDONYM_LENGTH, Pseudonymiser } from "./pseudonym";

const ALPHABET = "abcdefghijklmnopqrstuvwxyz234567";

/** The specification, spelled out slowly: "p" + base32 of the first 10 bytes of HMAC-SHA-256(key, value). */
function reference(key: Uint8Array, value: Uint8Array | string): string {
  const d = createHmac("sha256", key).update(value).digest().subarray(0, 10);
  const bits = [...d].map((b) => b.toString(2).padStart(8, "0")).join("");
  let out = "p";
  for (let i = 0; i < 80; i += 5) out += ALPHABET[Number.parseInt(bits.slice(i, i + 5), 2)];
  return out;
}

describe("Pseudonymiser", () => {
  it("gives p + 16 base32 characters of HMAC-SHA-256 under the key", () => {
    const key = randomBytes(32);
    const p = new Pseudonymiser(key);
    for (let i = 0; i < 3000; i++) {
      const value = randomBytes(1 + (i % 120));
      if (value[0]! <= 0x20) value[0] = 0x41; // keep the value free of the whitespace that is trimmed
      if (value.at(-1)! <= 0x20) value[value.length - 1] = 0x41;
      const got = p.pseudonym(value);
      expect(got).toBe(reference(key, value));
      expect(got).toMatch(/^p[a-z2-7]{16}$/);
    }
    expect(p.pseudonym("PT-0042")).toHaveLength(PSEUDONYM_LENGTH);
  });

  it("is stable for a value within a key and differs across keys", () => {
    const k1 = randomBytes(32);
    const k2 = randomBytes(32);
    const a = new Pseudonymiser(k1);
    const again = new Pseudonymiser(k1);
    const other = new Pseudonymiser(k2);
    expect(a.pseudonym("PT1")).toBe(again.pseudonym("PT1"));
    expect(a.pseudonym("PT1")).toBe(a.pseudonym(new TextEncoder().encode("PT1")));
    expect(a.pseudonym("PT1")).not.toBe(other.pseudonym("PT1"));
    expect(a.pseudonym("PT1")).not.toBe(a.pseudonym("PT2"));
  });

  it("leaves an empty or blank value empty and ignores surrounding whitespace, not case", () => {
    const p = new Pseudonymiser(randomBytes(32));
    expect(p.pseudonym("")).toBe("");
    expect(p.pseudonym(new Uint8Array(0))).toBe("");
    expect(p.pseudonym(" \t ")).toBe("");
    expect(p.pseudonym(" PT1\r\n")).toBe(p.pseudonym("PT1"));
    expect(p.pseudonym("pt1")).not.toBe(p.pseudonym("PT1"));
  });

  it("hashes UTF-8 bytes of non-ASCII strings", () => {
    const key = randomBytes(32);
    expect(new Pseudonymiser(key).pseudonym("Zoë-Ångström-山田")).toBe(reference(key, "Zoë-Ångström-山田"));
  });

  it("answers the same through its cache, after the cache is cleared and while it is bypassed", () => {
    const key = randomBytes(32);
    const small = new Pseudonymiser(key, { cacheEntries: 100 });
    const none = new Pseudonymiser(key, { cacheEntries: 0 });
    const big = new Pseudonymiser(key);
    const values = Array.from({ length: 500 }, (_, i) => `PT${i}`);
    // Many distinct values first (the cache is bypassed), then repeats (it is used again), long keys too.
    const distinct = Array.from({ length: 70_000 }, (_, i) => `X${i}`);
    for (const v of distinct) big.pseudonym(v);
    for (let round = 0; round < 5; round++) {
      for (const v of values) {
        const expected = none.pseudonym(v);
        expect(small.pseudonym(v)).toBe(expected);
        expect(big.pseudonym(v)).toBe(expected);
      }
    }
    const long = "L".repeat(500);
    expect(small.pseudonym(long)).toBe(reference(key, long));
    expect(small.pseudonym(long)).toBe(reference(key, long));
  });

  it("writes the pseudonym of a byte range in place and returns the next offset", () => {
    const key = randomBytes(32);
    const p = new Pseudonymiser(key);
    const src = new TextEncoder().encode("xxPT-7yy");
    const out = new Uint8Array(40).fill(0x2e);
    expect(p.write(src, 2, 6, out, 3)).toBe(3 + PSEUDONYM_LENGTH);
    expect(new TextDecoder().decode(out.subarray(3, 20))).toBe(reference(key, "PT-7"));
    expect(out[2]).toBe(0x2e);
    expect(out[20]).toBe(0x2e);
    expect(p.write(src, 3, 3, out, 9)).toBe(9);
  });

  it("refuses a key that is not 32 bytes", () => {
    expect(() => new Pseudonymiser(randomBytes(16))).toThrow(RangeError);
  });
});

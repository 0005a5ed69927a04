import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { IntegrityError } from "./errors";
import { IdentifierSet } from "./identifier-set";

const KEY = randomBytes(32);

describe("IdentifierSet", () => {
  it("has no false negatives, across many slices", () => {
    const set = new IdentifierSet(KEY, { sliceCapacity: 5000 });
    const values = Array.from({ length: 32_000 }, (_, i) => `PT${i}`);
    for (const v of values) set.add(v);
    expect(set.count).toBeGreaterThan(31_990); // a false positive on add counts as present
    for (const v of values) expect(set.has(v)).toBe(true);
  });

  it("keeps the false-positive rate under 1e-6 on a million non-members", () => {
    const set = new IdentifierSet(KEY, { sliceCapacity: 100_000 });
    for (let i = 0; i < 250_000; i++) set.add(`member-${i}`);
    let fp = 0;
    for (let i = 0; i < 1_000_000; i++) if (set.has(`other-${i}`)) fp++;
    // Expected <= 1 at the target rate; 5 would be a 1-in-3000 event.
    expect(fp).toBeLessThanOrEqual(5);
  });

  it("meets a measurable target rate over several slices", () => {
    const set = new IdentifierSet(KEY, { sliceCapacity: 2000, falsePositiveRate: 0.01 });
    for (let i = 0; i < 10_000; i++) set.add(`m${i}`);
    let fp = 0;
    const trials = 100_000;
    for (let i = 0; i < trials; i++) if (set.has(`n${i}`)) fp++;
    expect(fp / trials).toBeLessThan(0.01);
  });

  it("costs about 4 bytes per identifier", () => {
    const set = new IdentifierSet(KEY, { sliceCapacity: 100_000 });
    for (let i = 0; i < 100_000; i++) set.add(`v${i}`);
    expect(set.byteLength / 100_000).toBeGreaterThan(3.5);
    expect(set.byteLength / 100_000).toBeLessThan(4.5);
    set.add("one more");
    expect(set.byteLength / 100_001).toBeLessThan(9.5); // a second slice, of the same size plus a little
  });

  it("counts each distinct value once however often it repeats, before and after a run of distinct values", () => {
    const set = new IdentifierSet(KEY, { sliceCapacity: 200_000 });
    for (let round = 0; round < 20; round++) for (let i = 0; i < 1000; i++) set.add(`PT${i}`);
    for (let i = 0; i < 100_000; i++) set.add(`R${i}`); // enough misses for the recent-values cache to step aside
    for (let round = 0; round < 20; round++) for (let i = 0; i < 1000; i++) expect(set.add(`PT${i}`)).toBe(false);
    expect(set.count).toBeGreaterThan(100_990);
    expect(set.count).toBeLessThanOrEqual(101_000);
  });

  it("normalises surrounding ASCII whitespace but not case, for strings and bytes alike", () => {
    const set = new IdentifierSet(KEY, { sliceCapacity: 1000 });
    expect(set.add(" PT1\t")).toBe(true);
    expect(set.add("PT1")).toBe(false);
    expect(set.has(new TextEncoder().encode("\r\nPT1 "))).toBe(true);
    expect(set.has("pt1")).toBe(false);
    expect(set.add("")).toBe(false);
    expect(set.add("   ")).toBe(false);
    expect(set.has("")).toBe(false);
    expect(set.count).toBe(1);
  });

  it("answers differently under another key", () => {
    const a = new IdentifierSet(KEY, { sliceCapacity: 1000 });
    for (let i = 0; i < 1000; i++) a.add(`PT${i}`);
    const b = IdentifierSet.fromBytes(KEY, a.toBytes());
    expect(b.has("PT5")).toBe(true);
    expect(() => IdentifierSet.fromBytes(randomBytes(32), a.toBytes())).toThrow(IntegrityError);
  });

  it("round-trips through bytes, keeping members, count and room to grow", () => {
    const set = new IdentifierSet(KEY, { sliceCapacity: 3000 });
    for (let i = 0; i < 7000; i++) set.add(`PT${i}`);
    const back = IdentifierSet.fromBytes(KEY, set.toBytes());
    expect(back.count).toBe(set.count);
    expect(back.byteLength).toBe(set.byteLength);
    for (let i = 0; i < 7000; i++) expect(back.has(`PT${i}`)).toBe(true);
    for (let i = 7000; i < 12_000; i++) back.add(`PT${i}`);
    for (let i = 0; i < 12_000; i++) expect(back.has(`PT${i}`)).toBe(true);
    const empty = IdentifierSet.fromBytes(KEY, new IdentifierSet(KEY).toBytes());
    expect(empty.count).toBe(0);
    expect(empty.has("PT1")).toBe(false);
  });

  it("does not hold identifiers in the clear", () => {
    const set = new IdentifierSet(KEY, { sliceCapacity: 1000 });
    set.add("PATIENT-0042");
    expect(Buffer.from(set.toBytes()).includes("PATIENT-0042")).toBe(false);
  });

  it("rejects a corrupt, truncated or extended blob", () => {
    const set = new IdentifierSet(KEY, { sliceCapacity: 2000 });
    for (let i = 0; i < 3000; i++) set.add(`PT${i}`);
    const blob = Buffer.from(set.toBytes());
    for (const pos of [0, 4, 5, 8, 16, 20, 24, 32, 36, 40, 44, 500, blob.length - 40, blob.length - 1]) {
      const bad = Buffer.from(blob);
      bad[pos]! ^= 0x10;
      expect(() => IdentifierSet.fromBytes(KEY, bad), `flip at ${pos}`).toThrow(IntegrityError);
    }
    for (const len of [0, 10, 63, 64, blob.length - 1]) {
      expect(() => IdentifierSet.fromBytes(KEY, blob.subarray(0, len)), `cut at ${len}`).toThrow(IntegrityError);
    }
    expect(() => IdentifierSet.fromBytes(KEY, Buffer.concat([blob, Buffer.from([0])]))).toThrow(IntegrityError);
  });
});

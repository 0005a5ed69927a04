import { describe, expect, it } from "vitest";
import { TailBuffer } from "./tail-buffer";

const b = (s: string) => Buffer.from(s, "utf8");

describe("TailBuffer", () => {
  it("keeps everything, unmarked, while under the limit", () => {
    const t = new TailBuffer(10);
    t.push(b("abc"));
    t.push(b("def"));
    expect(t.toString()).toBe("abcdef");
  });

  it("keeps the last bytes across chunks and says how many were dropped", () => {
    const t = new TailBuffer(5);
    for (const s of ["0123", "4567", "89"]) t.push(b(s));
    expect(t.toString()).toBe("[spe: 5 earlier bytes truncated]\n56789");
  });

  it("holds at most the limit plus one chunk however much is pushed", () => {
    const t = new TailBuffer(1000);
    const chunk = Buffer.alloc(300, 0x61);
    for (let i = 0; i < 10_000; i++) t.push(chunk);
    const held = (t as unknown as { chunks: Buffer[] }).chunks.reduce((n, c) => n + c.length, 0);
    expect(held).toBeLessThan(1300);
    expect(t.toString()).toBe(`[spe: ${3_000_000 - 1000} earlier bytes truncated]\n${"a".repeat(1000)}`);
  });

  it("copies the tail of a chunk larger than the limit instead of keeping the chunk", () => {
    const t = new TailBuffer(4);
    const big = b("xxxxxxxxxxabcd");
    t.push(big);
    big.fill(0x7a);
    expect(t.toString()).toBe("[spe: 10 earlier bytes truncated]\nabcd");
  });

  it("starts the kept text on a character boundary", () => {
    const t = new TailBuffer(5);
    t.push(b("ééé")); // 6 bytes: the cut falls inside the first é
    expect(t.toString()).toBe("[spe: 2 earlier bytes truncated]\néé");
  });

  it("puts a note on a line of its own", () => {
    const t = new TailBuffer(100);
    t.push(b("no newline"));
    t.note("[spe: killed]");
    expect(t.toString()).toBe("no newline\n[spe: killed]\n");
    const empty = new TailBuffer(100);
    empty.note("[spe: killed]");
    expect(empty.toString()).toBe("[spe: killed]\n");
  });

  it("keeps nothing with a limit of 0", () => {
    const t = new TailBuffer(0);
    t.push(b("abc"));
    expect(t.toString()).toBe("[spe: 3 earlier bytes truncated]\n");
  });
});

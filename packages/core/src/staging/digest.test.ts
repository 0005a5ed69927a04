import { createHash, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { measured } from "./digest";

async function* pieces(...ps: Uint8Array[]): AsyncGenerator<Uint8Array> {
  yield* ps;
}

describe("measured", () => {
  it("passes the stream through unchanged and reports its size and SHA-256", async () => {
    const parts = [randomBytes(10), randomBytes(0), randomBytes(70_000)];
    const m = measured(pieces(...parts));
    const out: Uint8Array[] = [];
    for await (const p of m.stream) out.push(p);
    expect(Buffer.concat(out).equals(Buffer.concat(parts))).toBe(true);
    expect(m.result()).toEqual({
      bytes: 70_010,
      sha256: createHash("sha256").update(Buffer.concat(parts)).digest("hex"),
    });
  });

  it("measures an empty stream", async () => {
    const m = measured(pieces());
    for await (const _ of m.stream) expect.unreachable();
    expect(m.result()).toEqual({ bytes: 0, sha256: createHash("sha256").digest("hex") });
  });

  it("refuses to report before the stream has been read to its end", async () => {
    const m = measured(pieces(randomBytes(5), randomBytes(5)));
    expect(() => m.result()).toThrow(/end/);
    await m.stream.next();
    expect(() => m.result()).toThrow(/end/);
  });
});

import { createHmac, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { HmacSha256 } from "./hmac-sha256";

const reference = (key: Uint8Array, msg: Uint8Array) => new Uint8Array(createHmac("sha256", key).update(msg).digest());

describe("HmacSha256", () => {
  it("matches node:crypto for every message length from 0 to 200 bytes under many random keys", () => {
    for (let trial = 0; trial < 20; trial++) {
      const key = randomBytes(32);
      const mac = new HmacSha256(key);
      for (let len = 0; len <= 200; len++) {
        const msg = randomBytes(len);
        expect(mac.digest(msg)).toEqual(reference(key, msg));
      }
    }
  });

  it("matches node:crypto for keys shorter than, equal to and longer than the 64-byte block", () => {
    for (const keyLength of [0, 1, 31, 32, 33, 63, 64, 65, 100, 200]) {
      const key = randomBytes(keyLength);
      const mac = new HmacSha256(key);
      for (const len of [0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 1000]) {
        const msg = randomBytes(len);
        expect(mac.digest(msg)).toEqual(reference(key, msg));
      }
    }
  });

  it("hashes exactly the requested range of a larger buffer, in big-endian words", () => {
    const key = randomBytes(32);
    const mac = new HmacSha256(key);
    const buf = randomBytes(300);
    for (let i = 0; i < 500; i++) {
      const start = Math.floor(Math.random() * 150);
      const end = start + Math.floor(Math.random() * 150);
      const expected = Buffer.from(reference(key, buf.subarray(start, end)));
      const words = mac.words(buf, start, end);
      for (let w = 0; w < 8; w++) expect(words[w]).toBe(expected.readInt32BE(4 * w));
    }
  });

  it("keeps the known RFC 4231 test case 2 result", () => {
    const mac = new HmacSha256(new TextEncoder().encode("Jefe"));
    const digest = mac.digest(new TextEncoder().encode("what do ya want for nothing?"));
    expect(Buffer.from(digest).toString("hex")).toBe(
      "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    );
  });

  it("gives independent results for two instances used alternately", () => {
    const k1 = randomBytes(32);
    const k2 = randomBytes(32);
    const a = new HmacSha256(k1);
    const b = new HmacSha256(k2);
    for (let i = 0; i < 100; i++) {
      const msg = randomBytes(i);
      expect(a.digest(msg)).toEqual(reference(k1, msg));
      expect(b.digest(msg)).toEqual(reference(k2, msg));
    }
  });
});

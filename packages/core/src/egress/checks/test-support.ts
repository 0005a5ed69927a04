/**
 * Builders for the egress check tests: a default policy, byte streams cut at random places, and a runner
 * that checks a file whole and under several random splits and insists that every split agrees.
 */
import { expect } from "vitest";
import { mulberry32 } from "../../prng";
import { checkFile } from "./check-file";
import type { CheckPolicy, FileCheck } from "./types";

export const rng = mulberry32;

export const POLICY: CheckPolicy = {
  minCellCount: 10,
  minDegreesOfFreedom: 10,
  zeros: "review",
  identifierColumns: ["patient_id", "nif"],
};

export const enc = new TextEncoder();

/** Yields `bytes` in pieces of 1 to `max` bytes. */
export async function* pieces(bytes: Uint8Array, seed: number, max = 9): AsyncGenerator<Uint8Array> {
  const next = rng(seed);
  for (let p = 0; p < bytes.length; ) {
    const n = 1 + Math.floor(next() * max);
    yield bytes.slice(p, p + n);
    p += n;
  }
}

export async function* whole(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  if (bytes.length > 0) yield bytes;
}

/** Checks `content` whole, then in 1-byte pieces and random small pieces: all must agree. */
export async function check(
  path: string,
  content: string | Uint8Array,
  policy: Partial<CheckPolicy> = {},
): Promise<FileCheck> {
  const bytes = typeof content === "string" ? enc.encode(content) : content;
  const p = { ...POLICY, ...policy };
  const result = await checkFile(path, whole(bytes), p);
  if (bytes.length < 20_000) {
    for (let seed = 1; seed <= 3; seed++) {
      const again = await checkFile(path, pieces(bytes, seed, seed === 1 ? 1 : 13), p);
      expect(again, `split ${seed}`).toEqual(result);
    }
  }
  return result;
}

/** The findings as "rule severity @ location", for compact assertions. */
export function summary(r: FileCheck): string[] {
  return r.findings.map((f) => `${f.rule} ${f.severity} @ ${f.location}`);
}

export function csv(...rows: string[]): string {
  return `${rows.join("\n")}\n`;
}

import { mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { treeBytes } from "./disk-usage";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "spe-du-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("treeBytes", () => {
  it("adds up files in nested directories", async () => {
    mkdirSync(join(dir, "a/b"), { recursive: true });
    writeFileSync(join(dir, "one"), Buffer.alloc(10_000));
    writeFileSync(join(dir, "a/b/two"), Buffer.alloc(20_000));
    const total = await treeBytes(dir);
    expect(total).toBeGreaterThanOrEqual(30_000);
    expect(total).toBeLessThan(30_000 + 64 * 1024); // plus blocks of two directories and rounding
  });

  it("does not follow a symlink to a large file or directory outside", async () => {
    const outside = join(dir, "outside");
    mkdirSync(join(outside, "deep"), { recursive: true });
    writeFileSync(join(outside, "deep/big"), Buffer.alloc(5_000_000));
    mkdirSync(join(dir, "tree"));
    symlinkSync(join(outside, "deep/big"), join(dir, "tree/file-link"));
    symlinkSync(outside, join(dir, "tree/dir-link"));
    expect(await treeBytes(join(dir, "tree"))).toBeLessThan(10_000);
    // the tree itself being a symlink: not descended into either
    symlinkSync(outside, join(dir, "as-link"));
    expect(await treeBytes(join(dir, "as-link"))).toBe(0);
  });

  it("counts a sparse file at its length, the size a copy would take", async () => {
    writeFileSync(join(dir, "sparse"), "");
    truncateSync(join(dir, "sparse"), 50_000_000);
    expect(await treeBytes(dir)).toBeGreaterThanOrEqual(50_000_000);
  });

  it("stops early once past the threshold", async () => {
    for (let i = 0; i < 600; i++) writeFileSync(join(dir, `f${i}`), Buffer.alloc(1000));
    const early = await treeBytes(dir, 10_000);
    expect(early).toBeGreaterThan(10_000);
    expect(early).toBeLessThan(await treeBytes(dir));
  });

  it("counts a missing directory as empty", async () => {
    expect(await treeBytes(join(dir, "nope"))).toBe(0);
  });
});

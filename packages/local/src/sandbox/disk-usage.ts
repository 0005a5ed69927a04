/**
 * Size of a directory tree as the outputs quota counts it, cheaply enough to poll every 250 ms while a
 * hostile job rewrites the tree: lstat only, symlinks are never followed, vanished entries are skipped.
 */
import type { Stats } from "node:fs";
import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";

/** lstat calls in flight per directory: enough to hide latency, bounded for directories of millions. */
const BATCH = 256;

const missing = (err: unknown) => (err as NodeJS.ErrnoException).code === "ENOENT";

/**
 * A file counts the larger of its length and its allocated blocks: a sparse file counts at the size it
 * would be copied at (egress copies it), a directory of a million empty files counts its own blocks.
 */
const charge = (st: Stats) => (st.isDirectory() ? st.blocks * 512 : Math.max(st.size, st.blocks * 512));

/**
 * Total bytes under `dir`, the directory itself excluded. Stops walking once the total passes
 * `stopAbove` (the caller only needs to know it is over). A `dir` that is missing counts 0; one that is
 * a symlink or a file is not descended into.
 * @throws the file system error when a directory cannot be read (other than vanishing meanwhile).
 */
export async function treeBytes(dir: string, stopAbove = Number.POSITIVE_INFINITY): Promise<number> {
  const top = await lstat(dir).catch((err) => {
    if (missing(err)) return null;
    throw err;
  });
  if (!top?.isDirectory()) return 0;
  let total = 0;
  const pending = [dir];
  for (let current = pending.pop(); current !== undefined; current = pending.pop()) {
    let names: string[];
    try {
      names = await readdir(current);
    } catch (err) {
      if (missing(err) || (err as NodeJS.ErrnoException).code === "ENOTDIR") continue; // replaced meanwhile
      throw err;
    }
    for (let i = 0; i < names.length; i += BATCH) {
      const paths = names.slice(i, i + BATCH).map((name) => join(current, name));
      const stats = await Promise.all(
        paths.map((p) => lstat(p).catch((err) => (missing(err) ? null : Promise.reject(err)))),
      );
      stats.forEach((st, k) => {
        if (!st) return;
        total += charge(st);
        if (st.isDirectory()) pending.push(paths[k]!);
      });
      if (total > stopAbove) return total;
    }
  }
  return total;
}

/**
 * Size of a directory tree as the outputs quota counts it, cheaply enough to poll every 250 ms while a
 * hostile job rewrites the tree: lstat only, symlinks are never followed, vanished entries are skipped.
 */
import { constants, type Stats } from "node:fs";
import { type FileHandle, lstat, open, readdir } from "node:fs/promises";

/** lstat calls in flight per directory: enough to hide latency, bounded for directories of millions. */
const BATCH = 256;

const missing = (err: unknown) => (err as NodeJS.ErrnoException).code === "ENOENT";

/**
 * A file counts the larger of its length and its allocated blocks: a sparse file counts at the size it
 * would be copied at (egress copies it). Every entry costs at least one 4 KiB block, so a million empty
 * files (0 blocks on tmpfs) still fill the quota.
 */
const MIN_ENTRY = 4096;
const charge = (st: Stats) =>
  Math.max(MIN_ENTRY, st.isDirectory() ? st.blocks * 512 : Math.max(st.size, st.blocks * 512));

const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

/**
 * Total bytes under `dir`, the directory itself excluded. Stops walking once the total passes
 * `stopAbove` (the caller only needs to know it is over). A `dir` that is missing counts 0; one that is
 * a symlink or a file is not descended into. Each directory is opened without following symlinks and its
 * entries are reached through `/proc/self/fd/<fd>/` (openat semantics), so a job swapping a directory for
 * a symlink mid-walk cannot make us walk the host.
 * @throws the file system error when a directory cannot be read (other than vanishing meanwhile).
 */
export async function treeBytes(dir: string, stopAbove = Number.POSITIVE_INFINITY): Promise<number> {
  const top = await open(dir, DIR_FLAGS).catch((err: NodeJS.ErrnoException) => {
    if (missing(err) || err.code === "ENOTDIR" || err.code === "ELOOP") return null;
    throw err;
  });
  if (!top) return 0;
  let total = 0;
  // Depth first, holding one descriptor per level (not one per directory found).
  const walk = async (current: FileHandle): Promise<void> => {
    const base = `/proc/self/fd/${current.fd}`;
    const names = await readdir(base).catch((err) => (missing(err) ? [] : Promise.reject(err)));
    for (let i = 0; i < names.length && total <= stopAbove; i += BATCH) {
      const paths = names.slice(i, i + BATCH).map((name) => `${base}/${name}`);
      const stats = await Promise.all(
        paths.map((p) => lstat(p).catch((err) => (missing(err) ? null : Promise.reject(err)))),
      );
      for (const [k, st] of stats.entries()) {
        if (!st) continue;
        total += charge(st);
        if (!st.isDirectory() || total > stopAbove) continue;
        const sub = await open(paths[k] as string, DIR_FLAGS).catch(() => null); // replaced meanwhile: skip
        if (!sub) continue;
        try {
          await walk(sub);
        } finally {
          await sub.close();
        }
      }
    }
  };
  try {
    await walk(top);
  } finally {
    await top.close();
  }
  return total;
}

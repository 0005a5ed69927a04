/**
 * DatasetSources for one node: a `file://` source must exist, be readable, and lie (after resolving
 * symlinks) under one of the configured holder roots, so no dataset can point at the controller's own
 * keys or database, or at /etc or /proc. `s3://` sources need the AWS deployment.
 */
import { constants } from "node:fs";
import { access, open, readdir, realpath, stat } from "node:fs/promises";
import { basename, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { DatasetSources } from "@spe/core";

const within = (path: string, root: string) => path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);

export function fileSources(roots: readonly string[]): DatasetSources {
  /** The real path of a source that passes `check`, else an error with the reason. */
  const resolve = async (source: string) => {
    const problem = await sources.check(source);
    if (problem) throw new Error(`dataset source unavailable: ${problem}`);
    return realpath(fileURLToPath(source));
  };
  const sources: DatasetSources = {
    /** Regular files only: symlinks inside a source are skipped, never followed out of it. */
    async files(source) {
      const root = await resolve(source);
      const s = await stat(root);
      if (s.isFile()) return [{ path: basename(root), bytes: s.size }];
      const out: { path: string; bytes: number }[] = [];
      const walk = async (dir: string) => {
        for (const e of await readdir(dir, { withFileTypes: true })) {
          const p = join(dir, e.name);
          if (e.isDirectory()) await walk(p);
          else if (e.isFile()) out.push({ path: relative(root, p).split(sep).join("/"), bytes: (await stat(p)).size });
        }
      };
      await walk(root);
      return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    },

    async *read(source, path) {
      const root = await resolve(source);
      const isFile = (await stat(root)).isFile();
      const full = isFile ? root : join(root, ...path.split("/"));
      if (isFile ? path !== basename(root) : !within(await realpath(full), root)) {
        throw new Error("the file is not part of the dataset source");
      }
      const fh = await open(full, constants.O_RDONLY | constants.O_NOFOLLOW);
      yield* fh.createReadStream({ highWaterMark: 1024 * 1024 });
    },

    async check(source) {
      if (source.startsWith("s3://")) return "s3:// sources need the AWS deployment; this node reads file:// sources";
      let path: string;
      try {
        path = fileURLToPath(source);
      } catch {
        return "not a valid file:// URL";
      }
      try {
        const real = await realpath(path);
        const realRoots = await Promise.all(roots.map((r) => realpath(r).catch(() => null)));
        if (!realRoots.some((r) => r !== null && within(real, r))) {
          return `${path} is outside the dataset roots of this node (${roots.join(", ")}); an operator can add roots with SPE_SOURCE_ROOTS`;
        }
        const s = await stat(real);
        if (!s.isDirectory() && !s.isFile()) return `${path} is neither a file nor a directory`;
        await access(real, constants.R_OK | (s.isDirectory() ? constants.X_OK : 0));
        return null;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        return code === "ENOENT" ? `${path} does not exist` : `${path} cannot be read (${code ?? "error"})`;
      }
    },
  };
  return sources;
}

/**
 * DatasetSources for one node: a `file://` source must exist, be readable, and lie (after resolving
 * symlinks) under one of the configured holder roots, so no dataset can point at the controller's own
 * keys or database, or at /etc or /proc. `s3://` sources need the AWS deployment.
 */
import { constants } from "node:fs";
import { access, realpath, stat } from "node:fs/promises";
import { sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { DatasetSources } from "@spe/core";

const within = (path: string, root: string) => path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);

export function fileSources(roots: readonly string[]): DatasetSources {
  return {
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
}

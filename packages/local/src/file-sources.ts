/** DatasetSources for one node: `file://` sources must exist and be readable; `s3://` needs the AWS deployment. */
import { constants } from "node:fs";
import { access, stat } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { DatasetSources } from "@spe/core";

export const fileSources: DatasetSources = {
  async check(source) {
    if (source.startsWith("s3://")) return "s3:// sources need the AWS deployment; this node reads file:// sources";
    let path: string;
    try {
      path = fileURLToPath(source);
    } catch {
      return "not a valid file:// URL";
    }
    try {
      const s = await stat(path);
      if (!s.isDirectory() && !s.isFile()) return `${path} is neither a file nor a directory`;
      await access(path, constants.R_OK | (s.isDirectory() ? constants.X_OK : 0));
      return null;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return code === "ENOENT" ? `${path} does not exist` : `${path} cannot be read (${code ?? "error"})`;
    }
  },
};

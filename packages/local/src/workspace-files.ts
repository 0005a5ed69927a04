/**
 * Reading a workspace's areas from the controller without ever following a symlink the sandbox made.
 * Jobs run as another user and may plant symlinks (`outputs/x -> /etc/shadow`) or swap a directory for
 * one while we walk: every file is opened with O_NOFOLLOW and, once open, its real path (through
 * /proc/self/fd) must still lie inside the area, or it is refused.
 */
import { createHash } from "node:crypto";
import { constants } from "node:fs";
import { type FileHandle, lstat, open, readdir, readlink, realpath } from "node:fs/promises";
import { join, sep } from "node:path";
import { type OutputFile, ValidationError } from "@spe/core";

const inside = (path: string, root: string) => path.startsWith(root + sep);

/** Opens `<area>/<path>` for reading if, and only if, it is a regular file really inside the area. */
export async function openInside(area: string, path: string): Promise<FileHandle> {
  const root = await realpath(area);
  const refuse = () =>
    new ValidationError("file.path_escape", `${path} is not a regular file inside its area`, [
      { path: "path", message: "not a regular file inside the area (symlinks are not followed)" },
    ]);
  let fh: FileHandle;
  try {
    fh = await open(join(root, ...path.split("/")), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    throw refuse();
  }
  try {
    const real = await readlink(`/proc/self/fd/${fh.fd}`);
    if (!inside(real, root) || !(await fh.stat()).isFile()) throw refuse();
    return fh;
  } catch (err) {
    await fh.close();
    throw err;
  }
}

async function hashOf(fh: FileHandle): Promise<{ bytes: number; sha256: string }> {
  const h = createHash("sha256");
  let bytes = 0;
  for await (const chunk of fh.createReadStream({ highWaterMark: 1024 * 1024 })) {
    h.update(chunk as Buffer);
    bytes += (chunk as Buffer).byteLength;
  }
  return { bytes, sha256: h.digest("hex") };
}

/** Regular files under `area`, sorted by path; symlinks and special files are skipped. */
export async function listArea(area: string): Promise<OutputFile[]> {
  const out: OutputFile[] = [];
  const walk = async (rel: string) => {
    const entries = await readdir(join(area, ...rel.split("/").filter(Boolean)), { withFileTypes: true }).catch(
      () => [],
    );
    for (const e of entries) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      // lstat again: the entry type from readdir may be stale, and a directory may have become a symlink.
      const s = await lstat(join(area, ...p.split("/"))).catch(() => null);
      if (s?.isDirectory()) await walk(p);
      else if (s?.isFile()) {
        const fh = await openInside(area, p).catch(() => null);
        if (!fh) continue;
        try {
          out.push({ path: p, ...(await hashOf(fh)) });
        } finally {
          await fh.close();
        }
      }
    }
  };
  await walk("");
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Streams a regular file inside the area. */
export async function* readInside(area: string, path: string): AsyncGenerator<Uint8Array> {
  const fh = await openInside(area, path);
  yield* fh.createReadStream({ highWaterMark: 1024 * 1024 });
}

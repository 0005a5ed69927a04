/**
 * Reading a workspace's areas from the controller without ever following a symlink a job made, and
 * without racing one: jobs run as another user and may plant symlinks (`outputs/x -> /etc/shadow`) or
 * swap a directory for one while we walk. Every directory is opened with O_NOFOLLOW and its entries are
 * reached through `/proc/self/fd/<fd>/<name>` (openat semantics: Node has no openat), so a path component
 * replaced after we opened its parent cannot redirect us; files are opened O_NOFOLLOW | O_NONBLOCK (a FIFO
 * cannot block us) and must be regular files once open.
 */
import { createHash } from "node:crypto";
import { constants } from "node:fs";
import { type FileHandle, lstat, open, readdir } from "node:fs/promises";
import { type OutputFile, TooLargeError, ValidationError } from "@spe/core";

const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
const FILE_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
/** Entries a listing visits at most: an area with millions of empty files must not stall the controller. */
export const MAX_AREA_ENTRIES = 20_000;

const at = (dir: FileHandle, name: string) => `/proc/self/fd/${dir.fd}/${name}`;

async function tryOpen(path: string, flags: number): Promise<FileHandle | null> {
  return open(path, flags).catch(() => null);
}

/** Opens the directory `<area>/<segments...>`, refusing any symlink on the way. */
async function openDirs(area: string, segments: string[]): Promise<FileHandle | null> {
  let dir = await tryOpen(area, DIR_FLAGS);
  for (const seg of segments) {
    if (!dir) return null;
    const next = await tryOpen(at(dir, seg), DIR_FLAGS);
    await dir.close();
    dir = next;
  }
  return dir;
}

function refuse(path: string): ValidationError {
  return new ValidationError("file.path_escape", `${path} is not a regular file inside its area`, [
    { path: "path", message: "not a regular file inside the area (symlinks are not followed)" },
  ]);
}

/** Opens `<area>/<path>` for reading if, and only if, it is a regular file reached without a symlink. */
export async function openInside(area: string, path: string): Promise<FileHandle> {
  const segments = path.split("/");
  const name = segments.pop() as string;
  const dir = await openDirs(area, segments);
  if (!dir) throw refuse(path);
  try {
    const fh = await tryOpen(at(dir, name), FILE_FLAGS);
    if (!fh) throw refuse(path);
    if (!(await fh.stat()).isFile()) {
      await fh.close();
      throw refuse(path);
    }
    return fh;
  } finally {
    await dir.close();
  }
}

/** What `<area>/<path>` is, without following a symlink at any step. */
export async function statInside(
  area: string,
  path: string,
): Promise<{ kind: "file" | "directory" | "symlink" | "other" | "missing"; bytes: number }> {
  const segments = path.split("/");
  const name = segments.pop() as string;
  const dir = await openDirs(area, segments);
  if (!dir) return { kind: "missing", bytes: 0 };
  try {
    const s = await lstat(at(dir, name)).catch(() => null);
    if (!s) return { kind: "missing", bytes: 0 };
    if (s.isSymbolicLink()) return { kind: "symlink", bytes: 0 };
    if (s.isDirectory()) return { kind: "directory", bytes: 0 };
    if (!s.isFile()) return { kind: "other", bytes: 0 };
    const fh = await tryOpen(at(dir, name), FILE_FLAGS);
    if (!fh) return { kind: "symlink", bytes: 0 }; // replaced meanwhile
    try {
      const st = await fh.stat();
      return st.isFile() ? { kind: "file", bytes: st.size } : { kind: "other", bytes: 0 };
    } finally {
      await fh.close();
    }
  } finally {
    await dir.close();
  }
}

async function hashOf(fh: FileHandle): Promise<{ bytes: number; sha256: string }> {
  const h = createHash("sha256");
  let bytes = 0;
  for await (const chunk of fh.createReadStream({ highWaterMark: 1024 * 1024, autoClose: false })) {
    h.update(chunk as Buffer);
    bytes += (chunk as Buffer).byteLength;
  }
  return { bytes, sha256: h.digest("hex") };
}

/**
 * Regular files under `area`, sorted by path; symlinks and special files are skipped.
 * @throws TooLargeError when the area holds more than MAX_AREA_ENTRIES entries.
 */
export async function listArea(area: string): Promise<OutputFile[]> {
  const out: OutputFile[] = [];
  let entries = 0;
  const walk = async (dir: FileHandle, rel: string) => {
    for (const name of await readdir(`/proc/self/fd/${dir.fd}`).catch(() => [] as string[])) {
      if (++entries > MAX_AREA_ENTRIES) {
        throw new TooLargeError("file.too_many", `the area holds more than ${MAX_AREA_ENTRIES} entries`);
      }
      const p = rel ? `${rel}/${name}` : name;
      const s = await lstat(at(dir, name)).catch(() => null);
      if (s?.isDirectory()) {
        const sub = await tryOpen(at(dir, name), DIR_FLAGS);
        if (!sub) continue;
        try {
          await walk(sub, p);
        } finally {
          await sub.close();
        }
      } else if (s?.isFile()) {
        const fh = await tryOpen(at(dir, name), FILE_FLAGS);
        if (!fh) continue;
        try {
          if ((await fh.stat()).isFile()) out.push({ path: p, ...(await hashOf(fh)) });
        } finally {
          await fh.close();
        }
      }
    }
  };
  const root = await tryOpen(area, DIR_FLAGS);
  if (!root) return [];
  try {
    await walk(root, "");
  } finally {
    await root.close();
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Streams a regular file inside the area. */
export async function* readInside(area: string, path: string): AsyncGenerator<Uint8Array> {
  const fh = await openInside(area, path);
  try {
    yield* fh.createReadStream({ highWaterMark: 1024 * 1024, autoClose: false });
  } finally {
    await fh.close();
  }
}

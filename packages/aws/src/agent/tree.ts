/**
 * The agent's view of a workspace area on the task's disk: walking it without following a symlink, hashing
 * its regular files, measuring it for the outputs quota, and checking the relative paths that come from
 * object keys before anything is written. The agent runs as root and the job as another uid, so a symlink a
 * job planted (`outputs/x -> /proc/1/environ`) must never be read: directories are opened O_NOFOLLOW and
 * their entries reached through `/proc/self/fd/<fd>/<name>` (openat semantics), files O_NOFOLLOW and
 * O_NONBLOCK (a FIFO cannot block the agent) and accepted only if they are regular once open.
 * Node builtins only: bundled into the agent.
 */
import { createHash } from "node:crypto";
import { constants } from "node:fs";
import { type FileHandle, lstat, open, readdir } from "node:fs/promises";

const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
const FILE_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** Entries one area may hold: past it the area is not synced (a runaway job must not stall the agent). */
export const MAX_AREA_ENTRIES = 50_000;
/** Longest relative path stored, as core's paths allow. */
const MAX_PATH = 1024;

export interface FileFact {
  bytes: number;
  sha256: string;
}

export class AreaTooLargeError extends Error {
  constructor(area: string) {
    super(`${area} holds more than ${MAX_AREA_ENTRIES} entries`);
    this.name = "AreaTooLargeError";
  }
}

const at = (dir: FileHandle, name: string) => `/proc/self/fd/${dir.fd}/${name}`;

async function tryOpen(path: string, flags: number): Promise<FileHandle | null> {
  return open(path, flags).catch(() => null);
}

/**
 * Whether `rel` is a path this agent stores or restores: relative, `/`-separated, no empty, `.` or `..`
 * segment, no control characters, at most 1024 characters.
 */
export function isStorablePath(rel: string): boolean {
  if (rel.length === 0 || rel.length > MAX_PATH) return false;
  if (/[\u0000-\u001f\u007f\\]/.test(rel)) return false;
  return rel.split("/").every((s) => s !== "" && s !== "." && s !== ".." && Buffer.byteLength(s) <= 255);
}

/** A directory entry name that is valid UTF-8 (it round-trips) and storable. */
function storableName(raw: Buffer): string | null {
  const name = raw.toString("utf8");
  return Buffer.from(name, "utf8").equals(raw) && isStorablePath(name) ? name : null;
}

export async function sha256Of(fh: FileHandle): Promise<FileFact> {
  const h = createHash("sha256");
  let bytes = 0;
  for await (const chunk of fh.createReadStream({ start: 0, highWaterMark: 1024 * 1024, autoClose: false })) {
    h.update(chunk as Buffer);
    bytes += (chunk as Buffer).byteLength;
  }
  return { bytes, sha256: h.digest("hex") };
}

/** Opens a regular file inside `root` reached without any symlink, or null. */
export async function openRegular(root: string, rel: string): Promise<FileHandle | null> {
  const segments = rel.split("/");
  const name = segments.pop()!;
  let dir = await tryOpen(root, DIR_FLAGS);
  for (const seg of segments) {
    if (!dir) return null;
    const next = await tryOpen(at(dir, seg), DIR_FLAGS);
    await dir.close();
    dir = next;
  }
  if (!dir) return null;
  try {
    const fh = await tryOpen(at(dir, name), FILE_FLAGS);
    if (!fh) return null;
    if ((await fh.stat()).isFile()) return fh;
    await fh.close();
    return null;
  } finally {
    await dir.close();
  }
}

export interface AreaListing {
  files: Map<string, FileFact>;
  /** Entries left out: symlinks, special files, names that cannot be object keys. */
  skipped: number;
}

/**
 * Every regular file under `root` with its size and SHA-256, symlinks and special files skipped.
 * @throws AreaTooLargeError past MAX_AREA_ENTRIES entries.
 */
export async function listArea(root: string, label: string): Promise<AreaListing> {
  const files = new Map<string, FileFact>();
  let skipped = 0;
  let entries = 0;
  const walk = async (dir: FileHandle, rel: string): Promise<void> => {
    for (const raw of await readdir(`/proc/self/fd/${dir.fd}`, { encoding: "buffer" })) {
      if (++entries > MAX_AREA_ENTRIES) throw new AreaTooLargeError(label);
      const name = storableName(raw);
      const path = name === null ? null : rel ? `${rel}/${name}` : name;
      if (path === null || path.length > MAX_PATH) {
        skipped++;
        continue;
      }
      const s = await lstat(at(dir, name!)).catch(() => null);
      if (s?.isDirectory()) {
        const sub = await tryOpen(at(dir, name!), DIR_FLAGS);
        if (!sub) continue;
        try {
          await walk(sub, path);
        } finally {
          await sub.close();
        }
      } else if (s?.isFile()) {
        const fh = await tryOpen(at(dir, name!), FILE_FLAGS);
        if (!fh) continue;
        try {
          if ((await fh.stat()).isFile()) files.set(path, await sha256Of(fh));
          else skipped++;
        } finally {
          await fh.close();
        }
      } else skipped++;
    }
  };
  const top = await tryOpen(root, DIR_FLAGS);
  if (!top) return { files, skipped };
  try {
    await walk(top, "");
  } finally {
    await top.close();
  }
  return { files, skipped };
}

/**
 * Bytes of the regular files under `root` (symlinks not followed), stopping once over `limit`.
 * @throws when the area cannot be measured: the caller fails closed.
 */
export async function areaBytes(root: string, limit: number): Promise<number> {
  let total = 0;
  let entries = 0;
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      if (total > limit) return;
      if (++entries > MAX_AREA_ENTRIES) throw new AreaTooLargeError(root);
      const p = `${dir}/${e.name}`;
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) total += (await lstat(p).catch(() => ({ size: 0 }))).size;
    }
  };
  await walk(root);
  return total;
}

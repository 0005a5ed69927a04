/**
 * Moves a workspace's areas between the bucket and the task's disk. Before the job: `data/` is downloaded
 * read-only (root-owned, files 0444, directories 0555), `home/` and `outputs/` owned by the job's user;
 * what was downloaded is remembered (path → SHA-256). After the job (once no process of the job's user is
 * left, so nothing can change a file while it is read): files that are new or changed are uploaded, files
 * that were downloaded and are gone are deleted, symlinks and special files are never followed or stored.
 * Two jobs of one workspace may run at once: each only uploads what it changed and only deletes what it
 * had and removed, so one does not undo the other's new files (the last writer of one path wins).
 */
import { createHash } from "node:crypto";
import { constants } from "node:fs";
import { chmod, chown, lstat, mkdir, open, readdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { type Area, SHA256_METADATA } from "./protocol";
import {
  deleteKeys,
  forEachLimit,
  listObjects,
  type PutTarget,
  putBytes,
  putStream,
  SINGLE_PUT_BYTES,
} from "./s3-objects";
import { type FileFact, isStorablePath, listArea, openRegular } from "./tree";

const CONCURRENCY = 8;
const MAX_KEY_BYTES = 1024;
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

export interface AreaTarget extends PutTarget {
  /** `permits/<P>/workspaces/<W>/` */
  prefix: string;
}

/** Who owns a writable area's files; absent when the agent is not root (tests, development). */
export interface Owner {
  uid: number;
  gid: number;
}

/** A downloaded object's bytes do not match the SHA-256 it was stored with. */
export class IntegrityError extends Error {
  constructor(area: Area, path: string) {
    super(`${area}/${path} does not match its stored SHA-256`);
    this.name = "IntegrityError";
  }
}

export interface Downloaded {
  files: Map<string, FileFact>;
  /** Keys left out: paths that cannot be files here (`..`, a file where a directory must be). */
  skipped: number;
}

const areaPrefix = (t: AreaTarget, area: Area) => `${t.prefix}${area}/`;

/** Writes one object to `path` (which must not exist), checking its SHA-256 metadata when present. */
async function fetchTo(t: AreaTarget, key: string, path: string, area: Area, rel: string): Promise<FileFact> {
  const res = await t.s3.send(new GetObjectCommand({ Bucket: t.bucket, Key: key }));
  const h = createHash("sha256");
  let bytes = 0;
  const fh = await open(path, CREATE_FLAGS, 0o600);
  try {
    for await (const chunk of (res.Body ?? []) as AsyncIterable<Uint8Array>) {
      h.update(chunk);
      bytes += chunk.byteLength;
      let at = 0;
      while (at < chunk.byteLength) at += (await fh.write(chunk, at, chunk.byteLength - at)).bytesWritten;
    }
  } finally {
    await fh.close();
  }
  const sha256 = h.digest("hex");
  const expected = res.Metadata?.[SHA256_METADATA];
  if (expected !== undefined && expected !== sha256) throw new IntegrityError(area, rel);
  return { bytes, sha256 };
}

/** Sets modes (and owners) of everything under `dir`, without following symlinks (there are none yet). */
async function settle(dir: string, dirMode: number, fileMode: number, owner?: Owner): Promise<void> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await settle(p, dirMode, fileMode, owner);
    else if (e.isFile()) {
      if (owner) await chown(p, owner.uid, owner.gid);
      await chmod(p, fileMode);
    }
  }
  if (owner) await chown(dir, owner.uid, owner.gid);
  await chmod(dir, dirMode);
}

/**
 * Downloads `<prefix><area>/` into `dir` (created; must not exist). `data` ends read-only and root's; the
 * other areas end owned by `owner`.
 * @throws IntegrityError, or the S3 error, leaving `dir` partly filled (the agent then gives up).
 */
export async function downloadArea(t: AreaTarget, area: Area, dir: string, owner?: Owner): Promise<Downloaded> {
  await mkdir(dir, { mode: 0o700 });
  const base = areaPrefix(t, area);
  const { objects } = await listObjects(t.s3, t.bucket, base);
  const paths = new Set<string>();
  let skipped = 0;
  for (const o of objects) {
    const rel = o.key.slice(base.length);
    if (isStorablePath(rel)) paths.add(rel);
    else skipped++;
  }
  // S3 allows `a` and `a/b` side by side; a file system does not: the file gives way to the directory.
  for (const rel of paths) {
    const parts = rel.split("/");
    for (let i = 1; i < parts.length; i++) {
      const ancestor = parts.slice(0, i).join("/");
      if (paths.delete(ancestor)) skipped++;
    }
  }
  const files = new Map<string, FileFact>();
  await forEachLimit([...paths], CONCURRENCY, async (rel) => {
    const path = join(dir, ...rel.split("/"));
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    files.set(rel, await fetchTo(t, `${base}${rel}`, path, area, rel));
  });
  if (area === "data") await settle(dir, 0o555, 0o444);
  else await settle(dir, 0o755, 0o644, owner);
  return { files, skipped };
}

export interface Uploaded {
  uploaded: number;
  deleted: number;
  unchanged: number;
  /** Symlinks, special files and unstorable names left out. */
  skipped: number;
}

/** Uploads one file if it is still a regular file reached without symlinks (it is: nothing runs now). */
async function send(t: AreaTarget, dir: string, rel: string, fact: FileFact, key: string): Promise<void> {
  const fh = await openRegular(dir, rel);
  if (!fh) return; // gone or replaced since the listing: nothing of it is stored
  try {
    if (fact.bytes <= SINGLE_PUT_BYTES) {
      const bytes = await fh.readFile();
      if (createHash("sha256").update(bytes).digest("hex") !== fact.sha256) return;
      await putBytes(t, key, bytes);
    } else {
      const body = fh.createReadStream({ start: 0, highWaterMark: 1024 * 1024, autoClose: false });
      await putStream(t, key, body, fact.sha256);
    }
  } finally {
    await fh.close();
  }
}

/**
 * Uploads what changed in `dir` since `before` and deletes what was removed.
 * @throws AreaTooLargeError, or the S3 error once every upload in flight settled.
 */
export async function uploadArea(
  t: AreaTarget,
  area: Exclude<Area, "data">,
  dir: string,
  before: Map<string, FileFact>,
): Promise<Uploaded> {
  const base = areaPrefix(t, area);
  const exists = await lstat(dir).then(
    (s) => s.isDirectory(),
    () => false,
  );
  const now = exists ? await listArea(dir, `${area}/`) : { files: new Map<string, FileFact>(), skipped: 0 };
  // S3 takes keys of at most 1024 bytes: a longer path is left out (counted), not the whole area.
  const storable = [...now.files].filter(([rel]) => Buffer.byteLength(`${base}${rel}`) <= MAX_KEY_BYTES);
  const changed = storable.filter(([rel, f]) => before.get(rel)?.sha256 !== f.sha256);
  const removed = [...before.keys()].filter((rel) => !now.files.has(rel));
  await forEachLimit(changed, CONCURRENCY, ([rel, fact]) => send(t, dir, rel, fact, `${base}${rel}`));
  await deleteKeys(
    t.s3,
    t.bucket,
    removed.map((rel) => `${base}${rel}`),
  );
  return {
    uploaded: changed.length,
    deleted: removed.length,
    unchanged: storable.length - changed.length,
    skipped: now.skipped + now.files.size - storable.length,
  };
}

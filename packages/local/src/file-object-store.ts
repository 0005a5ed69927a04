/**
 * ObjectStore on the local file system: one file per object under `<root>/<key>`, written to a temporary
 * file, fsynced and renamed into place, so a failed or interrupted put leaves nothing under the key.
 * Objects here are already encrypted by core; the files are 0600 in 0700 directories.
 */
import { createReadStream } from "node:fs";
import { mkdir, open, readdir, rename, rm, stat, unlink } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import { NotFoundError, type ObjectStore } from "@spe/core";

const SEGMENT = /^[^\u0000-\u001f\u007f/\\]{1,255}$/;

/** Object keys are `/`-separated; every segment must be a plain name (no `..`, no hidden tricks). */
function checkKey(key: string, prefix = false): string {
  const segments = key.split("/");
  if (prefix && segments.at(-1) === "") segments.pop();
  const ok =
    segments.length > 0 && segments.every((s) => s !== "." && s !== ".." && SEGMENT.test(s) && !s.startsWith(".tmp-"));
  if (!ok) throw new Error(`invalid object key ${JSON.stringify(key)}`);
  return segments.join(sep);
}

export class FileObjectStore implements ObjectStore {
  constructor(private readonly root: string) {}

  async put(key: string, body: AsyncIterable<Uint8Array>): Promise<{ bytes: number }> {
    const path = join(this.root, checkKey(key));
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const tmp = join(dirname(path), `.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`);
    const fh = await open(tmp, "wx", 0o600);
    let bytes = 0;
    try {
      for await (const chunk of body) {
        let at = 0;
        while (at < chunk.byteLength) {
          const { bytesWritten } = await fh.write(chunk, at, chunk.byteLength - at);
          at += bytesWritten;
        }
        bytes += chunk.byteLength;
      }
      await fh.sync();
      await fh.close();
      await rename(tmp, path);
      return { bytes };
    } catch (err) {
      await fh.close().catch(() => {});
      await unlink(tmp).catch(() => {});
      throw err;
    }
  }

  async *get(key: string): AsyncGenerator<Uint8Array> {
    const path = join(this.root, checkKey(key));
    const found = await stat(path).catch(() => null);
    if (!found?.isFile()) throw new NotFoundError("object", key);
    yield* createReadStream(path, { highWaterMark: 1024 * 1024 });
  }

  async list(prefix: string): Promise<{ key: string; bytes: number }[]> {
    const base = prefix.endsWith("/") ? join(this.root, checkKey(prefix, true)) : join(this.root, checkKey(prefix));
    const out: { key: string; bytes: number }[] = [];
    const walk = async (dir: string) => {
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => null);
      if (!entries) return;
      for (const e of entries) {
        const p = join(dir, e.name);
        if (e.isDirectory()) await walk(p);
        else if (e.isFile() && !e.name.startsWith(".tmp-")) {
          out.push({ key: relative(this.root, p).split(sep).join("/"), bytes: (await stat(p)).size });
        }
      }
    };
    const s = await stat(base).catch(() => null);
    if (s?.isFile()) out.push({ key: relative(this.root, base).split(sep).join("/"), bytes: s.size });
    else if (s?.isDirectory()) await walk(base);
    return out.sort((a, b) => (a.key < b.key ? -1 : 1));
  }

  async deletePrefix(prefix: string): Promise<number> {
    const base = join(this.root, checkKey(prefix, true));
    const n = (await this.list(prefix)).length;
    await rm(base, { recursive: true, force: true });
    return n;
  }
}

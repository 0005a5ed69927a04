/**
 * One workspace's objects in the workspaces bucket, as the controller sees them:
 * `permits/<P>/workspaces/<W>/{data,home,outputs}/<path>`, the job specs under `jobs/` and the marker that
 * `start` completed. Every write is SSE-KMS under the permit key with a SHA-256 checksum and the hex
 * SHA-256 in the `sha256` metadata (agent/s3-objects.ts). Paths are checked before any call: S3 has no
 * symlinks, so a path that is spelled inside its area stays inside it. The bucket is versioned, so wiping
 * a workspace deletes every version and delete marker, and aborts unfinished multipart uploads.
 */

import { createHash } from "node:crypto";
import {
  AbortMultipartUploadCommand,
  DeleteObjectsCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectVersionsCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { type OutputFile, type StagedFile, TooLargeError, ValidationError } from "@spe/core";
import { type Area, SHA256_METADATA } from "./agent/protocol";
import {
  deleteKeys,
  forEachLimit,
  listObjects,
  objectBody,
  type PutTarget,
  putBytes,
  putStream,
  SINGLE_PUT_BYTES,
  sha256Hex,
} from "./agent/s3-objects";
import { type RetryOptions, retrying } from "./runtime-retry";
import { isError } from "./sdk-errors";

/** Entries a listing returns at most, as on one node: a huge area must not stall the controller. */
export const MAX_AREA_ENTRIES = 20_000;
const MAX_PATH = 1024;
/** S3's limit on a key, prefix included. */
export const MAX_KEY_BYTES = 1024;
const HEAD_CONCURRENCY = 16;
const UPLOAD_CONCURRENCY = 2;
const HEX64 = /^[0-9a-f]{64}$/;

export const workspacePrefix = (permitId: string, workspaceId: string) =>
  `permits/${permitId}/workspaces/${workspaceId}/`;

/**
 * Checks a path inside an area: relative, `/`-separated, no empty, `.` or `..` segment, no control
 * characters. Core hands over normalised paths, so anything else is refused rather than normalised.
 * @throws ValidationError `file.path_escape`.
 */
export function checkAreaPath(path: string, field = "path"): string {
  const refuse = (why: string) =>
    new ValidationError("file.path_escape", `cannot use ${JSON.stringify(path)}: ${why}`, [
      { path: field, message: why },
    ]);
  if (typeof path !== "string" || path.length === 0) throw refuse("the path is empty");
  if (path.length > MAX_PATH) throw refuse(`it is longer than ${MAX_PATH} characters`);
  if (/[\u0000-\u001f\u007f\\]/.test(path)) throw refuse("control characters and backslashes are not allowed");
  if (path.startsWith("/")) throw refuse("it leads outside its area (absolute)");
  for (const segment of path.split("/")) {
    if (segment === "..") throw refuse("it leads outside its area ('..')");
    if (segment === "" || segment === ".") throw refuse("it has an empty or '.' segment");
    if (Buffer.byteLength(segment) > 255) throw refuse("a segment is longer than 255 bytes");
  }
  return path;
}

/** Whether an S3 error says the object is not there. */
export const isMissing = (err: unknown) => isError(err, "NoSuchKey", "NotFound");

export interface AreaOptions {
  s3: S3Client;
  bucket: string;
  retry?: RetryOptions;
}

export class WorkspaceArea {
  readonly prefix: string;
  private readonly target: PutTarget;

  constructor(
    private readonly o: AreaOptions,
    permitId: string,
    workspaceId: string,
    kmsKeyId: string,
  ) {
    this.prefix = workspacePrefix(permitId, workspaceId);
    this.target = { s3: o.s3, bucket: o.bucket, kmsKeyId };
  }

  key(area: Area, path: string): string {
    return `${this.prefix}${area}/${path}`;
  }

  private call<T>(what: string, op: () => Promise<T>): Promise<T> {
    return retrying(what, op, this.o.retry);
  }

  /** Writes small bytes (a spec, a marker, an upload) in one verified put, retried when throttled. */
  putSmall(key: string, bytes: Uint8Array): Promise<void> {
    return this.call("storing a workspace file", () => putBytes(this.target, key, bytes));
  }

  /** The object's size and `sha256` metadata, or null when there is none. */
  async head(key: string): Promise<{ bytes: number; sha256: string | null } | null> {
    try {
      const res = await this.call("reading a workspace file's metadata", () =>
        this.o.s3.send(new HeadObjectCommand({ Bucket: this.o.bucket, Key: key })),
      );
      const sha = res.Metadata?.[SHA256_METADATA];
      return { bytes: res.ContentLength ?? 0, sha256: sha && HEX64.test(sha) ? sha : null };
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  /** Whether any object lies under `prefix` (a directory, for S3). */
  async anyUnder(prefix: string): Promise<boolean> {
    const { objects } = await this.call("listing a workspace", () => listObjects(this.o.s3, this.o.bucket, prefix, 1));
    return objects.length > 0;
  }

  /** The whole object, or null. For small objects only (specs, markers). */
  async readSmall(key: string): Promise<Uint8Array | null> {
    try {
      return await this.call("reading a workspace file", async () => {
        const chunks: Uint8Array[] = [];
        for await (const c of objectBody(this.o.s3, this.o.bucket, key)) chunks.push(c);
        return Buffer.concat(chunks);
      });
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  /**
   * Makes `data/` hold exactly `files`: each is hashed (one pass over the decrypted stream), skipped if the
   * stored copy has that hash, else uploaded (a second pass, verified against the first); objects under
   * `data/` that are not among `files` are deleted. A failed file is retried from a fresh stream.
   */
  async syncData(files: StagedFile[]): Promise<{ uploaded: number; unchanged: number }> {
    const wanted = new Set(files.map((f) => checkAreaPath(f.path, "data")));
    let uploaded = 0;
    await forEachLimit(files, UPLOAD_CONCURRENCY, async (file) => {
      const key = this.key("data", file.path);
      const { sha256, bytes } = await hashOf(file.open());
      const stored = await this.head(key);
      if (stored?.sha256 === sha256 && stored.bytes === bytes) return;
      await this.call("uploading a staged file", async () => {
        if (bytes <= SINGLE_PUT_BYTES) {
          const chunks: Uint8Array[] = [];
          for await (const c of file.open()) chunks.push(c);
          const body = Buffer.concat(chunks);
          if (sha256Hex(body) !== sha256) throw new Error(`staged file ${file.path} changed between two reads`);
          await putBytes(this.target, key, body);
        } else await putStream(this.target, key, file.open(), sha256);
      });
      uploaded++;
    });
    const { objects } = await this.call("listing data/", () =>
      listObjects(this.o.s3, this.o.bucket, `${this.prefix}data/`),
    );
    const extra = objects.map((o) => o.key).filter((k) => !wanted.has(k.slice(`${this.prefix}data/`.length)));
    if (extra.length > 0)
      await this.call("deleting stale data/ files", () => deleteKeys(this.o.s3, this.o.bucket, extra));
    return { uploaded, unchanged: files.length - uploaded };
  }

  /**
   * Regular files under `area`, sorted by path, with their sizes and SHA-256 (from metadata; computed
   * from the bytes for an object written without it).
   * @throws TooLargeError `file.too_many` past MAX_AREA_ENTRIES.
   */
  async listFiles(area: "home" | "outputs"): Promise<OutputFile[]> {
    const base = `${this.prefix}${area}/`;
    const { objects, truncated } = await this.call(`listing ${area}/`, () =>
      listObjects(this.o.s3, this.o.bucket, base, MAX_AREA_ENTRIES),
    );
    if (truncated) throw new TooLargeError("file.too_many", `the area holds more than ${MAX_AREA_ENTRIES} entries`);
    const out: OutputFile[] = [];
    const candidates = objects.filter((o) => {
      try {
        checkAreaPath(o.key.slice(base.length));
        return true;
      } catch {
        return false; // not a file name a job can have made (e.g. a `dir/` placeholder)
      }
    });
    await forEachLimit(candidates, HEAD_CONCURRENCY, async (o) => {
      const head = await this.head(o.key);
      if (!head) return; // deleted since the listing
      const sha256 = head.sha256 ?? (await hashOf(objectBody(this.o.s3, this.o.bucket, o.key))).sha256;
      out.push({ path: o.key.slice(base.length), bytes: head.bytes, sha256 });
    });
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  /** Whether anything of the workspace is stored, old versions and delete markers included. */
  async hasAnything(): Promise<boolean> {
    const res = await this.call("listing a workspace", () =>
      this.o.s3.send(new ListObjectVersionsCommand({ Bucket: this.o.bucket, Prefix: this.prefix, MaxKeys: 1 })),
    );
    return (res.Versions?.length ?? 0) + (res.DeleteMarkers?.length ?? 0) > 0;
  }

  /**
   * Deletes every version and delete marker under `prefix` (the workspace, or one of its areas) and aborts
   * its unfinished multipart uploads; checks that nothing is left. Idempotent.
   * @throws Error when S3 refuses a delete or objects keep appearing.
   */
  async deleteAll(prefix = this.prefix): Promise<number> {
    let deleted = 0;
    for (let round = 0; round < 5; round++) {
      await this.abortUploads(prefix);
      let found = 0;
      let keyMarker: string | undefined;
      let versionMarker: string | undefined;
      do {
        const page = await this.call("listing versions", () =>
          this.o.s3.send(
            new ListObjectVersionsCommand({
              Bucket: this.o.bucket,
              Prefix: prefix,
              KeyMarker: keyMarker,
              VersionIdMarker: versionMarker,
            }),
          ),
        );
        const batch = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])]
          .filter((v) => v.Key)
          .map((v) => ({ Key: v.Key!, VersionId: v.VersionId }));
        found += batch.length;
        for (let i = 0; i < batch.length; i += 1000) {
          const objects = batch.slice(i, i + 1000);
          const res = await this.call("deleting versions", () =>
            this.o.s3.send(
              new DeleteObjectsCommand({ Bucket: this.o.bucket, Delete: { Objects: objects, Quiet: true } }),
            ),
          );
          if (res.Errors && res.Errors.length > 0) {
            throw new Error(
              `S3 refused to delete ${res.Errors.length} version(s): ${res.Errors[0]?.Code ?? "unknown"}`,
            );
          }
          deleted += objects.length;
        }
        keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
        versionMarker = page.IsTruncated ? page.NextVersionIdMarker : undefined;
      } while (keyMarker !== undefined || versionMarker !== undefined);
      if (found === 0) return deleted;
    }
    throw new Error(`objects keep appearing under ${prefix} while it is deleted`);
  }

  private async abortUploads(prefix: string): Promise<void> {
    let keyMarker: string | undefined;
    let uploadMarker: string | undefined;
    do {
      const page = await this.call("listing unfinished uploads", () =>
        this.o.s3.send(
          new ListMultipartUploadsCommand({
            Bucket: this.o.bucket,
            Prefix: prefix,
            KeyMarker: keyMarker,
            UploadIdMarker: uploadMarker,
          }),
        ),
      );
      for (const u of page.Uploads ?? []) {
        await this.call("aborting an unfinished upload", () =>
          this.o.s3
            .send(new AbortMultipartUploadCommand({ Bucket: this.o.bucket, Key: u.Key, UploadId: u.UploadId }))
            .catch((err: unknown) => {
              if (!isError(err, "NoSuchUpload")) throw err;
              return {};
            }),
        );
      }
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      uploadMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
    } while (keyMarker !== undefined);
  }

  /** Streams an object's bytes. */
  body(key: string): AsyncIterable<Uint8Array> {
    return objectBody(this.o.s3, this.o.bucket, key);
  }
}

async function hashOf(body: AsyncIterable<Uint8Array>): Promise<{ sha256: string; bytes: number }> {
  const h = createHash("sha256");
  let bytes = 0;
  for await (const c of body) {
    h.update(c);
    bytes += c.byteLength;
  }
  return { sha256: h.digest("hex"), bytes };
}

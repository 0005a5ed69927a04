/**
 * The S3 calls the agent and the controller share for a workspace's objects: every write SSE-KMS under the
 * permit key with a bucket key, with a SHA-256 checksum S3 verifies and the hex SHA-256 in the object's
 * `sha256` metadata (multipart uploads get only a composite checksum); listing a prefix; batched deletes
 * that fail loudly. Imports only node builtins and the S3 client so the image build can bundle it.
 */
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { SHA256_METADATA } from "./protocol";

/** Up to this size a body is sent in one PutObject with its full SHA-256; above, as a multipart upload. */
export const SINGLE_PUT_BYTES = 16 * 1024 * 1024;
const PART_BYTES = 16 * 1024 * 1024;

export interface PutTarget {
  s3: S3Client;
  bucket: string;
  /** The permit key: its alias ARN. */
  kmsKeyId: string;
}

/** The stream's bytes were not those hashed before the upload: it is aborted, nothing is stored. */
export class ChangedWhileUploadingError extends Error {
  constructor(key: string) {
    super(`${key} changed while it was uploaded; nothing was stored`);
    this.name = "ChangedWhileUploadingError";
  }
}

export const encryptedUnder = (kmsKeyId: string) =>
  ({ ServerSideEncryption: "aws:kms", SSEKMSKeyId: kmsKeyId, BucketKeyEnabled: true }) as const;

export const sha256Hex = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

/** Writes `bytes` under `key` in one request: atomic, verified by S3 against the SHA-256. */
export async function putBytes(t: PutTarget, key: string, bytes: Uint8Array): Promise<void> {
  const digest = createHash("sha256").update(bytes).digest();
  await t.s3.send(
    new PutObjectCommand({
      Bucket: t.bucket,
      Key: key,
      Body: bytes,
      ContentLength: bytes.byteLength,
      ChecksumSHA256: digest.toString("base64"),
      Metadata: { [SHA256_METADATA]: digest.toString("hex") },
      ...encryptedUnder(t.kmsKeyId),
    }),
  );
}

async function* verified(body: AsyncIterable<Uint8Array>, sha256: string, key: string, count: { bytes: number }) {
  const h = createHash("sha256");
  for await (const chunk of body) {
    h.update(chunk);
    count.bytes += chunk.byteLength;
    yield chunk;
  }
  // Thrown before the last part is handed over: the multipart upload is aborted, a single put never sent.
  if (h.digest("hex") !== sha256) throw new ChangedWhileUploadingError(key);
}

/**
 * Streams `body` (whose SHA-256 is known beforehand) under `key` with bounded memory (two 16 MiB parts).
 * On any failure the multipart upload is aborted, so no parts are left behind.
 * @throws ChangedWhileUploadingError when the bytes do not hash to `sha256`.
 */
export async function putStream(
  t: PutTarget,
  key: string,
  body: AsyncIterable<Uint8Array>,
  sha256: string,
): Promise<{ bytes: number }> {
  const count = { bytes: 0 };
  const upload = new Upload({
    client: t.s3,
    queueSize: 2,
    partSize: PART_BYTES,
    leavePartsOnError: false,
    params: {
      Bucket: t.bucket,
      Key: key,
      Body: Readable.from(verified(body, sha256, key, count), { objectMode: false }),
      ChecksumAlgorithm: "SHA256",
      Metadata: { [SHA256_METADATA]: sha256 },
      ...encryptedUnder(t.kmsKeyId),
    },
  });
  await upload.done();
  return count;
}

/** The body of an object, as bytes. @throws the SDK's NoSuchKey when it does not exist. */
export async function* objectBody(s3: S3Client, bucket: string, key: string): AsyncGenerator<Uint8Array> {
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  if (!res.Body) return;
  yield* res.Body as AsyncIterable<Uint8Array>;
}

export interface ListedObject {
  key: string;
  bytes: number;
}

/**
 * The objects under `prefix`, in key order; stops after `max` (then `truncated` is true).
 */
export async function listObjects(
  s3: S3Client,
  bucket: string,
  prefix: string,
  max = Number.POSITIVE_INFINITY,
): Promise<{ objects: ListedObject[]; truncated: boolean }> {
  const objects: ListedObject[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: prefix,
        ContinuationToken: token,
        MaxKeys: Math.min(1000, Math.max(1, max - objects.length + 1)),
      }),
    );
    for (const o of page.Contents ?? []) {
      if (!o.Key) continue;
      if (objects.length >= max) return { objects, truncated: true };
      objects.push({ key: o.Key, bytes: o.Size ?? 0 });
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return { objects, truncated: false };
}

/** Deletes (the current versions of) `keys`. @throws naming how many S3 refused. */
export async function deleteKeys(s3: S3Client, bucket: string, keys: string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 1000) {
    const batch = keys.slice(i, i + 1000);
    const res = await s3.send(
      new DeleteObjectsCommand({
        Bucket: bucket,
        Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
      }),
    );
    if (res.Errors && res.Errors.length > 0) {
      throw new Error(`S3 refused to delete ${res.Errors.length} object(s): ${res.Errors[0]?.Code ?? "unknown"}`);
    }
  }
}

/**
 * Runs `fn` on every item with at most `limit` at once. After a failure no new item is started, and it
 * rejects with the first failure only once every call in flight has settled, so a caller that cleans up
 * afterwards cannot race a write still under way.
 */
export async function forEachLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | null = null;
  const worker = async () => {
    while (!failure && next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw (failure as { err: unknown }).err;
}

/**
 * ObjectStore on S3: four versioned buckets (s3-routing.ts picks one from the key), every object encrypted
 * with SSE-KMS under its permit's own KMS key (alias ARN, S3 Bucket Keys on) and stored with a SHA-256
 * checksum that S3 verifies on upload and the SDK on download. Objects are already encrypted by core
 * (envelope AES-GCM); SSE-KMS ties them to the permit's KMS key as well, so scheduling that key's deletion
 * makes them unreadable even to someone with bucket access.
 *
 * Puts stream through lib-storage's Upload: memory stays near partSize × queueSize whatever the size, and
 * a failed upload is aborted so nothing is left under the key (S3 never shows a half-written object).
 * deletePrefix removes every version and delete marker (and unfinished multipart uploads) under the prefix,
 * because a versioned bucket would otherwise keep the "deleted" bytes as noncurrent versions.
 *
 * What is retried: each SDK call retries throttling (SlowDown 503, 5xx) itself (standard retry mode);
 * when those retries run out the error surfaces to the caller unchanged, after the cleanup of anything
 * the call had started (aborting a multipart upload, retried up to 3 times).
 */
import { Readable } from "node:stream";
import {
  AbortMultipartUploadCommand,
  CopyObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type S3Client,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { NotFoundError, type ObjectStore } from "@spe/core";
import { copySource, multipartCopy } from "./s3-multipart-copy";
import { purgePrefix } from "./s3-purge";
import {
  type BucketRole,
  checkBucketName,
  type ObjectBuckets,
  parseKey,
  roleOfKey,
  rolesOfPrefix,
  underPrefix,
} from "./s3-routing";
import { cleanup, isError } from "./sdk-errors";

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
/** The longest a SigV4 presigned URL may live. */
const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;

export interface S3ObjectStoreOptions {
  s3: S3Client;
  buckets: ObjectBuckets;
  /** The alias ARN of the permit's KMS key, e.g. `KmsKeyService.permitKeyAliasArn`. */
  permitKeyArn(permitId: string): string;
  /** Bytes per multipart part; the largest object is 10,000 parts. @default 8 MiB (objects up to 80 GiB) */
  partBytes?: number;
  /** Parts uploaded at once (memory ≈ partBytes × queueSize). @default 4 */
  queueSize?: number;
  /** Above this size `copy` uses UploadPartCopy instead of CopyObject. @default 5 GiB (CopyObject's limit) */
  copyObjectMaxBytes?: number;
  /** Part size of a multipart copy. @default 512 MiB */
  copyPartBytes?: number;
}

/** Options of a presigned download. */
export interface PresignOptions {
  /** How long the URL works, 1 s to 7 days. */
  ttlSeconds: number;
  /** The file name the browser saves under. */
  filename: string;
}

/** `attachment` with an ASCII fallback name and the exact UTF-8 name (RFC 6266 / RFC 5987). */
export function attachmentDisposition(filename: string): string {
  const name = filename.split("/").at(-1) || "download";
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, "_");
  const exact = encodeURIComponent(name).replace(/['()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${exact}`;
}

export class S3ObjectStore implements ObjectStore {
  private readonly s3: S3Client;
  private readonly buckets: ObjectBuckets;
  private readonly permitKeyArn: (permitId: string) => string;
  private readonly partBytes: number;
  private readonly queueSize: number;
  private readonly copyObjectMaxBytes: number;
  private readonly copyPartBytes: number;

  constructor(o: S3ObjectStoreOptions) {
    this.s3 = o.s3;
    this.buckets = {
      staging: checkBucketName(o.buckets.staging, "buckets.staging"),
      outputs: checkBucketName(o.buckets.outputs, "buckets.outputs"),
      quarantine: checkBucketName(o.buckets.quarantine, "buckets.quarantine"),
      releases: checkBucketName(o.buckets.releases, "buckets.releases"),
    };
    this.permitKeyArn = o.permitKeyArn;
    this.partBytes = o.partBytes ?? 8 * MiB;
    this.queueSize = o.queueSize ?? 4;
    this.copyObjectMaxBytes = o.copyObjectMaxBytes ?? 5 * GiB;
    this.copyPartBytes = o.copyPartBytes ?? 512 * MiB;
    if (!Number.isInteger(this.partBytes) || this.partBytes < 5 * MiB) {
      throw new Error(`partBytes ${this.partBytes} is below S3's 5 MiB minimum part size`);
    }
    if (!Number.isInteger(this.queueSize) || this.queueSize < 1 || this.queueSize > 16) {
      throw new Error(`queueSize ${this.queueSize} must be an integer from 1 to 16`);
    }
    if (this.copyObjectMaxBytes > 5 * GiB || this.copyPartBytes < 5 * MiB || this.copyPartBytes > 5 * GiB) {
      throw new Error("copyObjectMaxBytes must be at most 5 GiB and copyPartBytes from 5 MiB to 5 GiB");
    }
  }

  /** The bucket of a key and the SSE-KMS settings of its permit. @throws Error for a key outside a permit. */
  private locate(key: string) {
    const { segments, permitId } = parseKey(key, { prefix: false });
    return { bucket: this.buckets[roleOfKey(segments)], permitId };
  }

  private encryption(permitId: string) {
    const arn = this.permitKeyArn(permitId);
    if (!arn.startsWith("arn:")) throw new Error(`the key of permit ${permitId} must be given as an ARN`);
    return { ServerSideEncryption: "aws:kms", SSEKMSKeyId: arn, BucketKeyEnabled: true } as const;
  }

  /** The distinct buckets that may hold keys under the prefix. */
  private bucketsOf(prefix: string): string[] {
    const { segments } = parseKey(prefix, { prefix: true });
    return [...new Set(rolesOfPrefix(segments).map((r: BucketRole) => this.buckets[r]))];
  }

  async put(key: string, body: AsyncIterable<Uint8Array>): Promise<{ bytes: number }> {
    const { bucket, permitId } = this.locate(key);
    const encryption = this.encryption(permitId);
    let bytes = 0;
    const counted = async function* () {
      for await (const chunk of body) {
        bytes += chunk.byteLength;
        yield chunk;
      }
    };
    const stream = Readable.from(counted());
    const upload = new Upload({
      client: this.s3,
      partSize: this.partBytes,
      queueSize: this.queueSize,
      leavePartsOnError: false,
      params: { Bucket: bucket, Key: key, Body: stream, ...encryption, ChecksumAlgorithm: "SHA256" },
    });
    try {
      await upload.done();
      return { bytes };
    } catch (err) {
      // lib-storage aborts a failed multipart upload itself, but gives up if that abort is throttled.
      const uploadId = upload.uploadId;
      if (uploadId) {
        await cleanup(
          () => this.s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId })),
          ["NoSuchUpload"],
        ).catch(() => {});
      }
      throw err;
    } finally {
      stream.destroy();
    }
  }

  /** Streams the object, its SHA-256 checked by the SDK as it arrives. @throws NotFoundError */
  async *get(key: string): AsyncGenerator<Uint8Array> {
    const { bucket } = this.locate(key);
    let body: unknown;
    try {
      ({ Body: body } = await this.s3.send(
        new GetObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: "ENABLED" }),
      ));
    } catch (err) {
      if (isError(err, "NoSuchKey", "NotFound")) throw new NotFoundError("object", key);
      throw err;
    }
    if (!body || typeof body !== "object" || !(Symbol.asyncIterator in body)) {
      throw new Error(`S3 returned no readable body for ${key}`);
    }
    yield* body as AsyncIterable<Uint8Array>;
  }

  /** Objects under the prefix (whole segments, as the file store), sorted by key. */
  async list(prefix: string): Promise<{ key: string; bytes: number }[]> {
    const out: { key: string; bytes: number }[] = [];
    for (const bucket of this.bucketsOf(prefix)) {
      let token: string | undefined;
      do {
        const page = await this.s3.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
        );
        for (const o of page.Contents ?? []) {
          if (o.Key && underPrefix(o.Key, prefix)) out.push({ key: o.Key, bytes: o.Size ?? 0 });
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /**
   * Deletes every version and delete marker under the prefix, and aborts unfinished multipart uploads there:
   * afterwards the buckets hold no byte of it. Idempotent; a failure midway is completed by a retry.
   * @returns how many objects (current versions) there were.
   */
  async deletePrefix(prefix: string): Promise<number> {
    let count = 0;
    for (const bucket of this.bucketsOf(prefix)) count += await purgePrefix(this.s3, bucket, prefix);
    return count;
  }

  /**
   * Copies an object server-side (the bytes never pass through this process), re-encrypted under the
   * permit key; both keys must belong to the same permit. Atomic like put: a failed copy leaves nothing.
   * @throws NotFoundError when the source does not exist.
   */
  async copy(fromKey: string, toKey: string): Promise<{ bytes: number }> {
    const from = this.locate(fromKey);
    const to = this.locate(toKey);
    if (from.permitId !== to.permitId) {
      throw new Error(`refusing to copy between permits (${from.permitId} → ${to.permitId}): data stays in its permit`);
    }
    let head: { ContentLength?: number; ETag?: string };
    try {
      head = await this.s3.send(new HeadObjectCommand({ Bucket: from.bucket, Key: fromKey }));
    } catch (err) {
      if (isError(err, "NotFound", "NoSuchKey")) throw new NotFoundError("object", fromKey);
      throw err;
    }
    const bytes = head.ContentLength ?? 0;
    const etag = head.ETag;
    if (!etag) throw new Error(`S3 returned no ETag for ${fromKey}`);
    const encryption = this.encryption(to.permitId);
    if (bytes <= this.copyObjectMaxBytes) {
      try {
        await this.s3.send(
          new CopyObjectCommand({
            Bucket: to.bucket,
            Key: toKey,
            CopySource: copySource(from.bucket, fromKey),
            CopySourceIfMatch: etag,
            MetadataDirective: "COPY",
            ...encryption,
            ChecksumAlgorithm: "SHA256",
          }),
        );
      } catch (err) {
        if (isError(err, "NoSuchKey", "NotFound")) throw new NotFoundError("object", fromKey);
        throw err;
      }
    } else {
      await multipartCopy(this.s3, {
        source: { bucket: from.bucket, key: fromKey, etag, bytes },
        target: { bucket: to.bucket, key: toKey },
        encryption,
        partBytes: this.copyPartBytes,
        concurrency: this.queueSize,
      });
    }
    return { bytes };
  }

  /**
   * A URL that downloads the object as an attachment for `ttlSeconds`, without credentials. The signer's
   * role needs s3:GetObject on the object and kms:Decrypt on the permit key (SSE-KMS), checked at use time.
   * No S3 call is made: the object's existence is not checked.
   */
  async presignGet(key: string, o: PresignOptions): Promise<string> {
    const { bucket } = this.locate(key);
    if (!Number.isInteger(o.ttlSeconds) || o.ttlSeconds < 1 || o.ttlSeconds > MAX_PRESIGN_SECONDS) {
      throw new Error(`ttlSeconds ${o.ttlSeconds} must be an integer from 1 to ${MAX_PRESIGN_SECONDS} (7 days)`);
    }
    if (o.filename.length === 0 || o.filename.length > 255) throw new Error("filename must have 1 to 255 characters");
    const get = new GetObjectCommand({
      Bucket: bucket,
      Key: key,
      ResponseContentDisposition: attachmentDisposition(o.filename),
      ResponseContentType: "application/octet-stream",
    });
    return getSignedUrl(this.s3, get, { expiresIn: o.ttlSeconds });
  }
}

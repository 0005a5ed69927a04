/**
 * Test support for the workspace runtime and its agent: a versioned in-memory S3 bucket behind
 * aws-sdk-client-mock that keeps what these tests assert on and testing/fake-s3.ts does not keep: user
 * metadata (`sha256`) and the SSE-KMS key of every version. It answers with S3's real errors (NoSuchKey,
 * NotFound on HEAD, NoSuchUpload, BadDigest) and takes faults from testing/faults.ts (throttling, lost
 * responses). Not a test file itself (no `.test.ts`): the runtime and agent tests import it.
 */
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  NoSuchKey,
  NoSuchUpload,
  NotFound,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { mockClient } from "aws-sdk-client-mock";
import { Faults, s3Error } from "./testing/faults";

export interface StoredVersion {
  key: string;
  versionId: string;
  /** null: a delete marker. */
  body: Buffer | null;
  metadata: Record<string, string>;
  kmsKeyId?: string;
  bucketKey?: boolean;
  checksumSha256?: string;
}

interface PendingUpload {
  key: string;
  metadata: Record<string, string>;
  kmsKeyId?: string;
  parts: Map<number, Buffer>;
}

const MIN_PART = 5 * 1024 * 1024;
const sha256b64 = (b: Uint8Array) => createHash("sha256").update(b).digest("base64");

async function bytesOf(body: unknown): Promise<Buffer> {
  if (body === undefined || body === null) return Buffer.alloc(0);
  if (typeof body === "string" || body instanceof Uint8Array) return Buffer.from(body);
  const parts: Buffer[] = [];
  for await (const c of body as AsyncIterable<Uint8Array>) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

/** A mocked S3Client over one versioned bucket. */
export class MemoryS3 {
  readonly client = new S3Client({
    region: "eu-central-1",
    credentials: { accessKeyId: "AKIAFAKEFAKEFAKE", secretAccessKey: "fake" },
  });
  readonly mock = mockClient(this.client);
  readonly faults = new Faults();
  /** Largest page a listing returns; lower it to exercise pagination. */
  pageSize = 1000;
  /** Versions of each key, oldest first. */
  private readonly byKey = new Map<string, StoredVersion[]>();
  private readonly pending = new Map<string, PendingUpload>();
  private seq = 0;

  constructor(readonly bucket: string) {
    const m = this.mock;
    m.onAnyCommand().callsFake((input: unknown) => {
      throw new Error(`MemoryS3 does not implement this command (${JSON.stringify(input)})`);
    });
    const on =
      <I>(name: string, fn: (input: I) => unknown) =>
      (input: I) =>
        this.faults.run(name, input, () => {
          const b = (input as { Bucket?: string }).Bucket;
          if (b !== this.bucket) throw s3Error("NoSuchBucket", 404, "The specified bucket does not exist");
          return fn(input);
        });
    m.on(PutObjectCommand).callsFake(on("PutObject", (i: PutObjectCommand["input"]) => this.put(i)));
    m.on(GetObjectCommand).callsFake(on("GetObject", (i: GetObjectCommand["input"]) => this.get(i.Key!, true)));
    m.on(HeadObjectCommand).callsFake(on("HeadObject", (i: HeadObjectCommand["input"]) => this.get(i.Key!, false)));
    m.on(DeleteObjectsCommand).callsFake(on("DeleteObjects", (i: DeleteObjectsCommand["input"]) => this.deleteMany(i)));
    m.on(ListObjectsV2Command).callsFake(on("ListObjectsV2", (i: ListObjectsV2Command["input"]) => this.list(i)));
    m.on(ListObjectVersionsCommand).callsFake(
      on("ListObjectVersions", (i: ListObjectVersionsCommand["input"]) => this.listVersions(i)),
    );
    m.on(ListMultipartUploadsCommand).callsFake(
      on("ListMultipartUploads", (i: ListMultipartUploadsCommand["input"]) => ({
        Uploads: [...this.pending]
          .filter(([, u]) => u.key.startsWith(i.Prefix ?? ""))
          .map(([UploadId, u]) => ({ Key: u.key, UploadId })),
        IsTruncated: false,
      })),
    );
    m.on(CreateMultipartUploadCommand).callsFake(
      on("CreateMultipartUpload", (i: CreateMultipartUploadCommand["input"]) => {
        const UploadId = `up-${++this.seq}`;
        this.pending.set(UploadId, {
          key: i.Key!,
          metadata: { ...(i.Metadata ?? {}) },
          ...(i.SSEKMSKeyId ? { kmsKeyId: i.SSEKMSKeyId } : {}),
          parts: new Map(),
        });
        return { UploadId, Bucket: i.Bucket, Key: i.Key };
      }),
    );
    m.on(UploadPartCommand).callsFake(
      on("UploadPart", async (i: UploadPartCommand["input"]) => {
        const body = await bytesOf(i.Body);
        this.upload(i.UploadId).parts.set(i.PartNumber!, body);
        return { ETag: `"p${i.PartNumber}"` };
      }),
    );
    m.on(CompleteMultipartUploadCommand).callsFake(
      on("CompleteMultipartUpload", (i: CompleteMultipartUploadCommand["input"]) => {
        const u = this.upload(i.UploadId);
        const parts = (i.MultipartUpload?.Parts ?? []).map((p) => u.parts.get(p.PartNumber!)!);
        if (parts.slice(0, -1).some((p) => p.length < MIN_PART)) {
          throw s3Error("EntityTooSmall", 400, "Your proposed upload is smaller than the minimum allowed size");
        }
        this.pending.delete(i.UploadId!);
        const v = this.write(u.key, Buffer.concat(parts), u.metadata, u.kmsKeyId, true);
        return { Key: u.key, VersionId: v.versionId };
      }),
    );
    m.on(AbortMultipartUploadCommand).callsFake(
      on("AbortMultipartUpload", (i: AbortMultipartUploadCommand["input"]) => {
        this.upload(i.UploadId);
        this.pending.delete(i.UploadId!);
        return {};
      }),
    );
  }

  private upload(id: string | undefined): PendingUpload {
    const u = id ? this.pending.get(id) : undefined;
    if (!u)
      throw new NoSuchUpload({ message: "The specified upload does not exist.", $metadata: { httpStatusCode: 404 } });
    return u;
  }

  private write(key: string, body: Buffer | null, metadata: Record<string, string>, kms?: string, bucketKey?: boolean) {
    const v: StoredVersion = {
      key,
      versionId: `v${String(++this.seq).padStart(8, "0")}`,
      body,
      metadata,
      ...(kms ? { kmsKeyId: kms } : {}),
      ...(bucketKey ? { bucketKey } : {}),
      ...(body ? { checksumSha256: sha256b64(body) } : {}),
    };
    const list = this.byKey.get(key) ?? [];
    list.push(v);
    this.byKey.set(key, list);
    return v;
  }

  private async put(i: PutObjectCommand["input"]) {
    const body = await bytesOf(i.Body);
    if (i.ChecksumSHA256 && i.ChecksumSHA256 !== sha256b64(body)) {
      throw s3Error("BadDigest", 400, "The SHA256 you specified did not match the calculated checksum.");
    }
    const v = this.write(i.Key!, body, { ...(i.Metadata ?? {}) }, i.SSEKMSKeyId, i.BucketKeyEnabled);
    return { ETag: `"${v.versionId}"`, VersionId: v.versionId };
  }

  private get(key: string, withBody: boolean) {
    const v = this.current(key);
    if (!v?.body) {
      if (!withBody) throw new NotFound({ message: "Not Found", $metadata: { httpStatusCode: 404 } });
      throw new NoSuchKey({ message: "The specified key does not exist.", $metadata: { httpStatusCode: 404 } });
    }
    const body = v.body;
    return {
      ContentLength: body.length,
      Metadata: { ...v.metadata },
      VersionId: v.versionId,
      ...(withBody
        ? { Body: Readable.from([body.subarray(0, 1000), body.subarray(1000)].filter((b) => b.length)) }
        : {}),
    };
  }

  private deleteMany(i: DeleteObjectsCommand["input"]) {
    const objects = i.Delete?.Objects ?? [];
    if (objects.length === 0 || objects.length > 1000)
      throw s3Error("MalformedXML", 400, "The XML was not well-formed");
    for (const o of objects) {
      if (o.VersionId) {
        const list = this.byKey.get(o.Key!) ?? [];
        const at = list.findIndex((v) => v.versionId === o.VersionId);
        if (at >= 0) list.splice(at, 1);
        if (list.length === 0) this.byKey.delete(o.Key!);
      } else if (this.current(o.Key!)?.body) this.write(o.Key!, null, {});
    }
    return { Deleted: [], Errors: [] };
  }

  private list(i: ListObjectsV2Command["input"]) {
    const after = i.ContinuationToken ?? i.StartAfter ?? "";
    const all = this.objects(i.Prefix ?? "").filter((v) => v.key > after);
    const page = all.slice(0, Math.min(i.MaxKeys ?? 1000, this.pageSize));
    const truncated = page.length < all.length;
    return {
      Contents: page.map((v) => ({ Key: v.key, Size: v.body!.length })),
      KeyCount: page.length,
      IsTruncated: truncated,
      ...(truncated ? { NextContinuationToken: page.at(-1)!.key } : {}),
    };
  }

  private listVersions(i: ListObjectVersionsCommand["input"]) {
    const all = this.allVersions(i.Prefix ?? "")
      .slice()
      .sort((a, b) => (a.key === b.key ? (a.versionId < b.versionId ? 1 : -1) : a.key < b.key ? -1 : 1));
    const start = i.KeyMarker
      ? all.findIndex((v) => v.key > i.KeyMarker! || (v.key === i.KeyMarker && v.versionId < (i.VersionIdMarker ?? "")))
      : 0;
    const rest = start < 0 ? [] : all.slice(start);
    const page = rest.slice(0, Math.min(i.MaxKeys ?? 1000, this.pageSize));
    const truncated = page.length < rest.length;
    const last = page.at(-1);
    return {
      Versions: page.filter((v) => v.body).map((v) => ({ Key: v.key, VersionId: v.versionId })),
      DeleteMarkers: page.filter((v) => !v.body).map((v) => ({ Key: v.key, VersionId: v.versionId })),
      IsTruncated: truncated,
      ...(truncated && last ? { NextKeyMarker: last.key, NextVersionIdMarker: last.versionId } : {}),
    };
  }

  // ---- for arranging and asserting ----

  current(key: string): StoredVersion | undefined {
    return this.byKey.get(key)?.at(-1);
  }

  /** Current (not deleted) objects under a prefix, in key order. */
  objects(prefix = ""): StoredVersion[] {
    const keys = [...this.byKey.keys()].filter((k) => k.startsWith(prefix)).sort();
    return keys.map((k) => this.current(k)!).filter((v) => v.body !== null);
  }

  /** Every version and delete marker under a prefix: what is really left. */
  allVersions(prefix = ""): StoredVersion[] {
    return [...this.byKey.entries()].filter(([k]) => k.startsWith(prefix)).flatMap(([, list]) => list);
  }

  /** Unfinished multipart uploads. */
  uploads(): { key: string; parts: number }[] {
    return [...this.pending.values()].map((u) => ({ key: u.key, parts: u.parts.size }));
  }

  text(key: string): string | undefined {
    const b = this.current(key)?.body;
    return b ? b.toString("utf8") : undefined;
  }

  /** Stores an object as the runtime would (with its `sha256` metadata), bypassing faults. */
  seed(key: string, body: string | Uint8Array, metadata?: Record<string, string>): void {
    const buf = Buffer.from(body);
    this.write(key, buf, metadata ?? { sha256: createHash("sha256").update(buf).digest("hex") }, "seeded");
  }
}

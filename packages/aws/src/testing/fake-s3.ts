/**
 * An in-memory S3 behind aws-sdk-client-mock, for tests of anything that takes an S3Client: versioned
 * buckets, delete markers, multipart uploads (with S3's 5 MiB minimum part size, aborts, listing of
 * unfinished uploads: fake-s3-multipart.ts), CopyObject and UploadPartCopy, paginated listings, SHA-256
 * checksums, user metadata (the workspace runtime's `sha256`), SSE-KMS recorded per version (and, given a
 * KMS view, refused when the key is not usable, as S3 does), and the errors S3 really answers (NoSuchKey,
 * NotFound on HEAD, NoSuchBucket, NoSuchUpload, PreconditionFailed, EntityTooSmall, InvalidPart). Faults
 * (faults.ts) inject throttling or any error at any call; `snapshot`/`restore` copy every bucket.
 *
 * @example
 * const fake = new FakeS3(["staging"]);
 * fake.faults.fail("UploadPart", slowDown, { skip: 1 });
 * await new S3ObjectStore({ s3: fake.client, ... }).put(key, body); // rejects; fake.uploads("staging") is []
 * const ws = fake.view("staging"); // one bucket's objects with their metadata (fake-s3-view.ts)
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  NoSuchBucket,
  NoSuchKey,
  NotFound,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  UploadPartCopyCommand,
} from "@aws-sdk/client-s3";
import { mockClient } from "aws-sdk-client-mock";
import { bytesOf, range, streamOf } from "./fake-s3-body";
import { type Encryption, FakeBucket, sha256b64, userMetadata, type Version } from "./fake-s3-bucket";
import { listObjects, listUploads, listVersions } from "./fake-s3-listing";
import { abort, complete, createUpload, uploadPart, uploadPartCopy } from "./fake-s3-multipart";
import { FakeS3View } from "./fake-s3-view";
import { Faults, s3Error } from "./faults";

/** What the fake S3 needs to know of KMS (FakeKms provides it): the key behind an id, ARN or alias. */
export interface KmsView {
  describe(keyIdOrAlias: string): { arn: string; state: string } | undefined;
}

export interface FakeS3Options {
  /** Enforce SSE-KMS key state like S3 does (PutObject and GetObject call KMS). */
  kms?: KmsView;
  /** Largest CopyObject source. @default 5 GiB */
  copyObjectMaxBytes?: number;
}

export class FakeS3 {
  readonly client: S3Client;
  readonly mock: ReturnType<typeof mockClient>;
  readonly faults = new Faults();
  /** Largest page any listing returns (S3: 1000); lower it to exercise pagination. */
  pageSize = 1000;
  /** Makes DeleteObjects report a per-key error (e.g. `AccessDenied`) for the keys it returns a code for. */
  refuseDelete: ((key: string) => string | undefined) | undefined;
  private readonly buckets = new Map<string, FakeBucket>();
  private readonly copyObjectMaxBytes: number;

  constructor(
    bucketNames: readonly string[],
    private readonly o: FakeS3Options = {},
  ) {
    for (const b of bucketNames) this.buckets.set(b, new FakeBucket(b));
    this.copyObjectMaxBytes = o.copyObjectMaxBytes ?? 5 * 1024 ** 3;
    this.client = new S3Client({
      region: "eu-central-1",
      credentials: { accessKeyId: "AKIAFAKEFAKEFAKE", secretAccessKey: "fake-secret-for-presigning-only" },
    });
    const m = mockClient(this.client);
    this.mock = m;
    m.onAnyCommand().callsFake((input: unknown) => {
      throw new Error(`FakeS3 does not implement this command (input ${JSON.stringify(input)})`);
    });
    const on = <I, O>(name: string, fn: (input: I) => O | Promise<O>) => {
      return async (input: I) => this.faults.run(name, input, () => fn(input));
    };
    m.on(PutObjectCommand).callsFake(on("PutObject", (i) => this.putObject(i)));
    m.on(GetObjectCommand).callsFake(on("GetObject", (i) => this.getObject(i, true)));
    m.on(HeadObjectCommand).callsFake(on("HeadObject", (i) => this.getObject(i, false)));
    m.on(DeleteObjectCommand).callsFake(on("DeleteObject", (i) => this.deleteObject(i.Bucket, i.Key, i.VersionId)));
    m.on(DeleteObjectsCommand).callsFake(on("DeleteObjects", (i) => this.deleteObjects(i)));
    m.on(ListObjectsV2Command).callsFake(
      on("ListObjectsV2", (i) => listObjects(this.bucket(i.Bucket), i, this.pageSize)),
    );
    m.on(ListObjectVersionsCommand).callsFake(
      on("ListObjectVersions", (i) => listVersions(this.bucket(i.Bucket), i, this.pageSize)),
    );
    m.on(ListMultipartUploadsCommand).callsFake(
      on("ListMultipartUploads", (i) => listUploads(this.bucket(i.Bucket), i, this.pageSize)),
    );
    m.on(CreateMultipartUploadCommand).callsFake(on("CreateMultipartUpload", (i) => createUpload(this, i)));
    m.on(UploadPartCommand).callsFake(on("UploadPart", (i) => uploadPart(this, i)));
    m.on(UploadPartCopyCommand).callsFake(on("UploadPartCopy", (i) => uploadPartCopy(this, i)));
    m.on(CompleteMultipartUploadCommand).callsFake(on("CompleteMultipartUpload", (i) => complete(this, i)));
    m.on(AbortMultipartUploadCommand).callsFake(on("AbortMultipartUpload", (i) => abort(this, i)));
    m.on(CopyObjectCommand).callsFake(on("CopyObject", (i) => this.copyObject(i)));
  }

  // ---- inspection, for assertions ----

  /** Current objects of a bucket (what ListObjectsV2 shows). */
  objects(
    bucket: string,
    prefix = "",
  ): { key: string; bytes: number; encryption: Encryption; metadata: Record<string, string>; checksum?: string }[] {
    return this.bucket(bucket)
      .objects(prefix)
      .map((v) => ({
        key: v.key,
        bytes: v.body?.byteLength ?? 0,
        encryption: v.encryption,
        metadata: v.metadata,
        ...(v.checksumSha256 ? { checksum: v.checksumSha256 } : {}),
      }));
  }

  /** Every stored version and delete marker of a bucket: what is left of the data for real. */
  versions(bucket: string, prefix = ""): Version[] {
    return this.bucket(bucket).allVersions(prefix);
  }

  /** Unfinished multipart uploads (their parts are stored, and billed, until aborted). */
  uploads(bucket: string): { key: string; uploadId: string; parts: number }[] {
    return [...this.bucket(bucket).uploads.values()].map((u) => ({
      key: u.key,
      uploadId: u.uploadId,
      parts: u.parts.size,
    }));
  }

  /** The bytes of the current version, if any. */
  body(bucket: string, key: string): Uint8Array | undefined {
    return this.bucket(bucket).current(key)?.body ?? undefined;
  }

  /**
   * The current object's bytes as a GET through the client returns them (the SSE-KMS key must be usable):
   * what the holder of a presigned GET URL receives. Faults apply.
   */
  async fetch(bucket: string, key: string): Promise<Uint8Array> {
    const res = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return bytesOf(res.Body);
  }

  /** Stores an object directly (arranging a test), bypassing faults and KMS. */
  seed(bucket: string, key: string, body: Uint8Array | string, metadata: Record<string, string> = {}): Version {
    return this.bucket(bucket).write(key, typeof body === "string" ? Buffer.from(body) : body, {}, undefined, metadata);
  }

  /** A copy of every bucket, for `restore`: many runs can start from one arranged state. */
  snapshot(): Map<string, FakeBucket> {
    return new Map([...this.buckets].map(([name, b]) => [name, b.copy()]));
  }

  /** Replaces every bucket with a copy of a snapshot's. */
  restore(s: Map<string, FakeBucket>): void {
    this.buckets.clear();
    for (const [name, b] of s) this.buckets.set(name, b.copy());
  }

  /** One bucket seen on its own: its objects with their metadata, seeded as the workspace runtime writes them. */
  view(bucket: string): FakeS3View {
    return new FakeS3View(this, this.bucket(bucket));
  }

  // ---- the commands ----

  bucket(name: string | undefined): FakeBucket {
    const b = name ? this.buckets.get(name) : undefined;
    if (!b)
      throw new NoSuchBucket({ message: "The specified bucket does not exist", $metadata: { httpStatusCode: 404 } });
    return b;
  }

  /** The SSE-KMS settings S3 would store, after checking the key with KMS as S3 does. */
  encryption(i: { ServerSideEncryption?: string; SSEKMSKeyId?: string; BucketKeyEnabled?: boolean }) {
    if (i.ServerSideEncryption !== "aws:kms") return { ServerSideEncryption: i.ServerSideEncryption ?? "AES256" };
    const arn = this.kmsUsable(i.SSEKMSKeyId ?? "alias/aws/s3");
    return { ServerSideEncryption: "aws:kms", SSEKMSKeyId: arn, BucketKeyEnabled: i.BucketKeyEnabled ?? false };
  }

  private kmsUsable(keyId: string): string {
    if (!this.o.kms) return keyId;
    const k = this.o.kms.describe(keyId);
    if (!k) throw s3Error("KMS.NotFoundException", 400, `Invalid keyId '${keyId}'`);
    if (k.state === "Disabled") throw s3Error("KMS.DisabledException", 400, `${k.arn} is disabled.`);
    if (k.state !== "Enabled") throw s3Error("KMS.KMSInvalidStateException", 400, `${k.arn} is pending deletion.`);
    return k.arn;
  }

  private checksum(i: { ChecksumAlgorithm?: string; ChecksumSHA256?: string }, body: Uint8Array) {
    const sum = sha256b64(body);
    if (i.ChecksumSHA256 && i.ChecksumSHA256 !== sum) {
      throw s3Error("BadDigest", 400, "The SHA256 you specified did not match the calculated checksum.");
    }
    return i.ChecksumAlgorithm === "SHA256" || i.ChecksumSHA256 ? sum : undefined;
  }

  private async putObject(i: PutObjectCommand["input"]) {
    const b = this.bucket(i.Bucket);
    const body = await bytesOf(i.Body);
    const encryption = this.encryption(i);
    const v = b.write(i.Key as string, body, encryption, this.checksum(i, body), userMetadata(i.Metadata));
    return { ETag: v.etag, VersionId: v.versionId, ChecksumSHA256: v.checksumSha256, ...encryption };
  }

  private getObject(i: GetObjectCommand["input"], withBody: boolean) {
    const b = this.bucket(i.Bucket);
    const key = i.Key as string;
    const v = i.VersionId ? b.find(key, i.VersionId) : b.current(key);
    if (!v?.body) {
      if (!withBody) throw new NotFound({ message: "Not Found", $metadata: { httpStatusCode: 404 } });
      throw new NoSuchKey({ message: "The specified key does not exist.", $metadata: { httpStatusCode: 404 } });
    }
    if (v.encryption.SSEKMSKeyId && withBody) this.kmsUsable(v.encryption.SSEKMSKeyId);
    const r = range(i.Range, v.body.byteLength);
    const bytes = r ? v.body.subarray(r[0], r[1] + 1) : v.body;
    return {
      ...(withBody ? { Body: streamOf(bytes) } : {}),
      ContentLength: bytes.byteLength,
      ETag: v.etag,
      VersionId: v.versionId,
      LastModified: v.lastModified,
      Metadata: { ...v.metadata },
      ...(v.checksumSha256 && !r ? { ChecksumSHA256: v.checksumSha256 } : {}),
      ...v.encryption,
      // biome-ignore lint/suspicious/noExplicitAny: the mock returns the SDK's streaming output type, which a test stream cannot spell
    } as any;
  }

  private deleteObject(bucket: string | undefined, key: string | undefined, versionId?: string) {
    const b = this.bucket(bucket);
    if (versionId) {
      const gone = b.removeVersion(key as string, versionId);
      return { VersionId: versionId, DeleteMarker: gone ? gone.body === null : undefined };
    }
    const marker = b.write(key as string, null, {});
    return { VersionId: marker.versionId, DeleteMarker: true };
  }

  private deleteObjects(i: DeleteObjectsCommand["input"]) {
    const objects = i.Delete?.Objects ?? [];
    if (objects.length === 0 || objects.length > 1000) {
      throw s3Error("MalformedXML", 400, "The XML you provided was not well-formed or did not validate");
    }
    const Deleted = [];
    const Errors = [];
    for (const o of objects) {
      const code = this.refuseDelete?.(o.Key ?? "");
      if (code) Errors.push({ Key: o.Key, VersionId: o.VersionId, Code: code, Message: code });
      else Deleted.push({ Key: o.Key, ...this.deleteObject(i.Bucket, o.Key, o.VersionId) });
    }
    return { Deleted: i.Delete?.Quiet ? [] : Deleted, Errors };
  }

  /** The current version behind a `CopySource` (`bucket/url-encoded-key`), checked against its ETag. */
  copySource(source: string | undefined, ifMatch: string | undefined): Version {
    const [bucket, ...rest] = (source ?? "").split("/");
    const key = rest.map(decodeURIComponent).join("/");
    const v = this.bucket(bucket).current(key);
    if (!v?.body)
      throw new NoSuchKey({ message: "The specified key does not exist.", $metadata: { httpStatusCode: 404 } });
    if (ifMatch && ifMatch !== v.etag) {
      throw s3Error("PreconditionFailed", 412, "At least one of the pre-conditions you specified did not hold");
    }
    if (v.encryption.SSEKMSKeyId) this.kmsUsable(v.encryption.SSEKMSKeyId);
    return v;
  }

  private copyObject(i: CopyObjectCommand["input"]) {
    const v = this.copySource(i.CopySource, i.CopySourceIfMatch);
    const body = v.body as Uint8Array;
    if (body.byteLength > this.copyObjectMaxBytes) {
      throw s3Error(
        "InvalidRequest",
        400,
        `The specified copy source is larger than the maximum allowable size for a copy source: ${this.copyObjectMaxBytes}`,
      );
    }
    const encryption = this.encryption(i);
    // S3 copies the source's metadata unless told to REPLACE it.
    const metadata = i.MetadataDirective === "REPLACE" ? userMetadata(i.Metadata) : v.metadata;
    const target = this.bucket(i.Bucket).write(i.Key as string, body, encryption, this.checksum(i, body), metadata);
    return { CopyObjectResult: { ETag: target.etag, LastModified: target.lastModified }, VersionId: target.versionId };
  }
}

/** A FakeS3 with the four object store buckets, named as in the tests. */
export const OBJECT_BUCKETS = {
  staging: "spe-test-staging",
  outputs: "spe-test-outputs",
  quarantine: "spe-test-quarantine",
  releases: "spe-test-releases",
} as const;

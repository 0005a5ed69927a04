/**
 * One bucket of the in-memory S3 (fake-s3.ts) seen on its own, for tests of code that works in a single
 * bucket (the workspace runtime, its agent): objects by key with their user metadata (`sha256`), their
 * SSE-KMS key and checksum, every version and delete marker, unfinished uploads, and `seed` writing an
 * object as the runtime would (with its `sha256` metadata). The client, faults and page size are the
 * FakeS3's own: calls through `client` see every bucket.
 *
 * @example
 * const s3 = new FakeS3(["spe-test-workspaces"]).view("spe-test-workspaces");
 * s3.seed(`${prefix}home/a.py`, "print(1)\n");
 * expect(s3.current(`${prefix}home/a.py`)?.metadata.sha256).toMatch(/^[0-9a-f]{64}$/);
 */
import { createHash } from "node:crypto";
import type { FakeS3 } from "./fake-s3";
import type { FakeBucket, Version } from "./fake-s3-bucket";

/** A stored version as the single-bucket tests assert on it. */
export interface StoredObject {
  key: string;
  versionId: string;
  /** null: a delete marker. */
  body: Buffer | null;
  metadata: Record<string, string>;
  /** The SSE-KMS key as the writer named it (an alias ARN stays an alias ARN without a KMS view). */
  kmsKeyId?: string;
  bucketKey?: boolean;
  checksumSha256?: string;
}

const stored = (v: Version): StoredObject => ({
  key: v.key,
  versionId: v.versionId,
  body: v.body ? Buffer.from(v.body) : null,
  metadata: { ...v.metadata },
  ...(v.encryption.SSEKMSKeyId ? { kmsKeyId: v.encryption.SSEKMSKeyId } : {}),
  ...(v.encryption.BucketKeyEnabled ? { bucketKey: true } : {}),
  ...(v.checksumSha256 ? { checksumSha256: v.checksumSha256 } : {}),
});

export class FakeS3View {
  constructor(
    private readonly s3: FakeS3,
    private readonly b: FakeBucket,
  ) {}

  get name(): string {
    return this.b.name;
  }

  get client() {
    return this.s3.client;
  }

  get mock() {
    return this.s3.mock;
  }

  get faults() {
    return this.s3.faults;
  }

  /** Largest page any listing returns (shared with the FakeS3). */
  get pageSize(): number {
    return this.s3.pageSize;
  }

  set pageSize(n: number) {
    this.s3.pageSize = n;
  }

  /** The newest entry of the key: an object, or a delete marker (`body` null). */
  current(key: string): StoredObject | undefined {
    const v = this.b.versions.get(key)?.at(-1);
    return v ? stored(v) : undefined;
  }

  /** Current objects (not deleted) under a prefix, in key order. */
  objects(prefix = ""): StoredObject[] {
    return this.b.objects(prefix).map(stored);
  }

  /** Every version and delete marker under a prefix: what is really left. */
  allVersions(prefix = ""): StoredObject[] {
    return this.b.allVersions(prefix).map(stored);
  }

  /** Unfinished multipart uploads. */
  uploads(): { key: string; parts: number }[] {
    return [...this.b.uploads.values()].map((u) => ({ key: u.key, parts: u.parts.size }));
  }

  /** The current object's bytes as UTF-8, if there is one. */
  text(key: string): string | undefined {
    return this.b.current(key)?.body
      ? Buffer.from(this.b.current(key)?.body as Uint8Array).toString("utf8")
      : undefined;
  }

  /**
   * Stores an object as the runtime writes one (its hex SHA-256 as `sha256` metadata unless `metadata` is
   * given), bypassing faults and KMS.
   */
  seed(key: string, body: string | Uint8Array, metadata?: Record<string, string>): void {
    const bytes = typeof body === "string" ? Buffer.from(body) : body;
    this.s3.seed(this.b.name, key, bytes, metadata ?? { sha256: createHash("sha256").update(bytes).digest("hex") });
  }
}

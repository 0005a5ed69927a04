/**
 * The state of one bucket of the in-memory S3 (fake-s3.ts): a versioned bucket as S3 keeps it. Each key
 * has its versions, newest last; deleting without a version id adds a delete marker (the bytes stay, as a
 * noncurrent version); deleting a version id removes that version for good. Unfinished multipart uploads
 * are kept apart, invisible to listings of objects, until completed or aborted. Each version keeps its
 * user metadata (`x-amz-meta-*`), as S3 does.
 */
import { createHash } from "node:crypto";

export interface Encryption {
  ServerSideEncryption?: string;
  /** The resolved key ARN, as S3 reports it (not the alias it was given). */
  SSEKMSKeyId?: string;
  BucketKeyEnabled?: boolean;
}

export interface Version {
  key: string;
  versionId: string;
  /** Orders versions: a higher number is newer. */
  seq: number;
  /** null for a delete marker. */
  body: Uint8Array | null;
  etag: string;
  checksumSha256?: string;
  encryption: Encryption;
  /** User metadata (`Metadata` of PutObject, CreateMultipartUpload, CopyObject); empty for a delete marker. */
  metadata: Record<string, string>;
  lastModified: Date;
}

export interface Part {
  body: Uint8Array;
  etag: string;
  checksumSha256: string;
}

export interface Upload {
  key: string;
  uploadId: string;
  encryption: Encryption;
  metadata: Record<string, string>;
  checksumAlgorithm?: string;
  parts: Map<number, Part>;
}

export const md5Etag = (b: Uint8Array) => `"${createHash("md5").update(b).digest("hex")}"`;
export const sha256b64 = (b: Uint8Array) => createHash("sha256").update(b).digest("base64");

/** User metadata as S3 stores it: names lowercased (HTTP headers), values as given. */
export function userMetadata(m: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(m ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
}

/** S3 orders keys by their UTF-8 bytes. */
export const compareKeys = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

let counter = 0;

export class FakeBucket {
  readonly versions = new Map<string, Version[]>();
  readonly uploads = new Map<string, Upload>();

  constructor(readonly name: string) {}

  /** An independent copy (versions are never changed once written; lists and uploads are copied). */
  copy(): FakeBucket {
    const b = new FakeBucket(this.name);
    for (const [key, list] of this.versions) b.versions.set(key, [...list]);
    for (const [id, u] of this.uploads) b.uploads.set(id, { ...u, parts: new Map(u.parts) });
    return b;
  }

  /** The newest version of the key, if it is an object (not a delete marker). */
  current(key: string): Version | undefined {
    const v = this.versions.get(key)?.at(-1);
    return v?.body ? v : undefined;
  }

  find(key: string, versionId: string): Version | undefined {
    return this.versions.get(key)?.find((v) => v.versionId === versionId);
  }

  write(
    key: string,
    body: Uint8Array | null,
    encryption: Encryption,
    checksumSha256?: string,
    metadata: Record<string, string> = {},
  ): Version {
    const seq = ++counter;
    const v: Version = {
      key,
      versionId: `v${seq.toString().padStart(8, "0")}${Math.random().toString(36).slice(2, 8)}`,
      seq,
      body,
      etag: body ? md5Etag(body) : "",
      ...(checksumSha256 ? { checksumSha256 } : {}),
      encryption,
      metadata: body ? { ...metadata } : {},
      lastModified: new Date(),
    };
    const list = this.versions.get(key) ?? [];
    list.push(v);
    this.versions.set(key, list);
    return v;
  }

  /** Removes one version for good. @returns whether it existed. */
  removeVersion(key: string, versionId: string): Version | undefined {
    const list = this.versions.get(key);
    const i = list?.findIndex((v) => v.versionId === versionId) ?? -1;
    if (!list || i < 0) return undefined;
    const [gone] = list.splice(i, 1);
    if (list.length === 0) this.versions.delete(key);
    return gone;
  }

  /** Current objects, in key order. */
  objects(prefix = ""): Version[] {
    return [...this.versions.keys()]
      .filter((k) => k.startsWith(prefix))
      .sort(compareKeys)
      .map((k) => this.current(k))
      .filter((v): v is Version => v !== undefined);
  }

  /** Every version and delete marker, in ListObjectVersions order: by key, newest version first. */
  allVersions(prefix = ""): Version[] {
    return [...this.versions.keys()]
      .filter((k) => k.startsWith(prefix))
      .sort(compareKeys)
      .flatMap((k) => [...(this.versions.get(k) ?? [])].reverse());
  }
}

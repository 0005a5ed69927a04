/**
 * The multipart uploads of the in-memory S3 (fake-s3.ts): CreateMultipartUpload (its encryption, metadata
 * and checksum algorithm kept for the object), UploadPart and UploadPartCopy, CompleteMultipartUpload with
 * S3's checks (parts listed by ETag, in ascending order, all but the last at least 5 MiB) and
 * AbortMultipartUpload; NoSuchUpload for an upload that is not there.
 */
import {
  type AbortMultipartUploadCommand,
  type CompleteMultipartUploadCommand,
  type CreateMultipartUploadCommand,
  NoSuchUpload,
  type UploadPartCommand,
  type UploadPartCopyCommand,
} from "@aws-sdk/client-s3";
import type { FakeS3 } from "./fake-s3";
import { bytesOf, range } from "./fake-s3-body";
import { md5Etag, sha256b64, userMetadata } from "./fake-s3-bucket";
import { s3Error } from "./faults";

const MIN_PART = 5 * 1024 ** 2;

export function createUpload(s3: FakeS3, i: CreateMultipartUploadCommand["input"]) {
  const b = s3.bucket(i.Bucket);
  const uploadId = `up-${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;
  const encryption = s3.encryption(i);
  b.uploads.set(uploadId, {
    key: i.Key as string,
    uploadId,
    encryption,
    metadata: userMetadata(i.Metadata),
    ...(i.ChecksumAlgorithm ? { checksumAlgorithm: i.ChecksumAlgorithm } : {}),
    parts: new Map(),
  });
  return { UploadId: uploadId, Bucket: i.Bucket, Key: i.Key, ...encryption };
}

function upload(s3: FakeS3, bucket: string | undefined, key: string | undefined, uploadId: string | undefined) {
  const u = uploadId ? s3.bucket(bucket).uploads.get(uploadId) : undefined;
  if (!u || u.key !== key) {
    throw new NoSuchUpload({ message: "The specified upload does not exist.", $metadata: { httpStatusCode: 404 } });
  }
  return u;
}

function storePart(
  s3: FakeS3,
  i: { Bucket?: string; Key?: string; UploadId?: string; PartNumber?: number },
  body: Uint8Array,
) {
  const u = upload(s3, i.Bucket, i.Key, i.UploadId);
  const n = i.PartNumber ?? 0;
  if (n < 1 || n > 10_000) throw s3Error("InvalidArgument", 400, "Part number must be an integer between 1 and 10000");
  const part = { body, etag: md5Etag(body), checksumSha256: sha256b64(body) };
  u.parts.set(n, part);
  return part;
}

export async function uploadPart(s3: FakeS3, i: UploadPartCommand["input"]) {
  const body = await bytesOf(i.Body);
  const p = storePart(s3, i, body);
  return { ETag: p.etag, ChecksumSHA256: p.checksumSha256 };
}

export function uploadPartCopy(s3: FakeS3, i: UploadPartCopyCommand["input"]) {
  const v = s3.copySource(i.CopySource, i.CopySourceIfMatch);
  const body = v.body as Uint8Array;
  const r = range(i.CopySourceRange, body.byteLength) ?? [0, body.byteLength - 1];
  const p = storePart(s3, i, body.slice(r[0], r[1] + 1));
  return { CopyPartResult: { ETag: p.etag, ChecksumSHA256: p.checksumSha256, LastModified: new Date() } };
}

export function complete(s3: FakeS3, i: CompleteMultipartUploadCommand["input"]) {
  const u = upload(s3, i.Bucket, i.Key, i.UploadId);
  const listed = i.MultipartUpload?.Parts ?? [];
  if (listed.length === 0) throw s3Error("MalformedXML", 400, "You must specify at least one part");
  const bodies: Uint8Array[] = [];
  let previous = 0;
  for (const [index, p] of listed.entries()) {
    const stored = u.parts.get(p.PartNumber ?? 0);
    if (!stored || stored.etag !== p.ETag)
      throw s3Error("InvalidPart", 400, "One or more of the specified parts could not be found");
    if ((p.PartNumber ?? 0) <= previous)
      throw s3Error("InvalidPartOrder", 400, "The list of parts was not in ascending order");
    if (index < listed.length - 1 && stored.body.byteLength < MIN_PART) {
      throw s3Error("EntityTooSmall", 400, "Your proposed upload is smaller than the minimum allowed object size.");
    }
    previous = p.PartNumber ?? 0;
    bodies.push(stored.body);
  }
  const body = Buffer.concat(bodies);
  const b = s3.bucket(i.Bucket);
  b.uploads.delete(u.uploadId);
  const checksum = u.checksumAlgorithm ? sha256b64(body) : undefined;
  const v = b.write(u.key, new Uint8Array(body), u.encryption, checksum, u.metadata);
  return { Bucket: i.Bucket, Key: i.Key, ETag: v.etag, VersionId: v.versionId, ...u.encryption };
}

export function abort(s3: FakeS3, i: AbortMultipartUploadCommand["input"]) {
  const u = upload(s3, i.Bucket, i.Key, i.UploadId);
  s3.bucket(i.Bucket).uploads.delete(u.uploadId);
  return {};
}

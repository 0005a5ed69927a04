/**
 * Server-side copy of an object too big for one CopyObject (S3 copies at most 5 GiB per request): a
 * multipart upload whose parts are UploadPartCopy ranges of the source, pinned to the source's ETag so a
 * source replaced midway fails the copy instead of mixing two versions. A failure aborts the upload, so
 * nothing is left under the target key (not even invisible parts).
 */
import {
  AbortMultipartUploadCommand,
  type CompletedPart,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  type S3Client,
  UploadPartCopyCommand,
} from "@aws-sdk/client-s3";
import { cleanup } from "./sdk-errors";

/** S3's limits on a multipart upload. */
const MAX_PARTS = 10_000;
const MAX_PART_BYTES = 5 * 1024 ** 3;

export interface MultipartCopy {
  source: { bucket: string; key: string; etag: string; bytes: number };
  target: { bucket: string; key: string };
  /** SSE-KMS settings of the target object. */
  encryption: { ServerSideEncryption: "aws:kms"; SSEKMSKeyId: string; BucketKeyEnabled: true };
  /** Wanted part size; raised when the object would need more than 10,000 parts. */
  partBytes: number;
  /** Parts copied at once. */
  concurrency: number;
}

/** `CopySource` names `bucket/key` with the key URL-encoded segment by segment. */
export const copySource = (bucket: string, key: string) =>
  `${bucket}/${key.split("/").map(encodeURIComponent).join("/")}`;

export async function multipartCopy(s3: S3Client, c: MultipartCopy): Promise<void> {
  const partBytes = Math.min(MAX_PART_BYTES, Math.max(c.partBytes, Math.ceil(c.source.bytes / MAX_PARTS)));
  const count = Math.ceil(c.source.bytes / partBytes);
  const { UploadId } = await s3.send(
    new CreateMultipartUploadCommand({
      Bucket: c.target.bucket,
      Key: c.target.key,
      ...c.encryption,
      ChecksumAlgorithm: "SHA256",
    }),
  );
  if (!UploadId) throw new Error("S3 started a multipart upload without an upload id");
  const parts: CompletedPart[] = [];
  try {
    let next = 1;
    let failed = false;
    const worker = async () => {
      while (next <= count && !failed) {
        const n = next++;
        const start = (n - 1) * partBytes;
        const end = Math.min(c.source.bytes, start + partBytes) - 1;
        try {
          const { CopyPartResult: r } = await s3.send(
            new UploadPartCopyCommand({
              Bucket: c.target.bucket,
              Key: c.target.key,
              UploadId,
              PartNumber: n,
              CopySource: copySource(c.source.bucket, c.source.key),
              CopySourceRange: `bytes=${start}-${end}`,
              CopySourceIfMatch: c.source.etag,
            }),
          );
          if (!r?.ETag) throw new Error(`S3 copied part ${n} without an ETag`);
          parts.push({
            PartNumber: n,
            ETag: r.ETag,
            ...(r.ChecksumSHA256 ? { ChecksumSHA256: r.ChecksumSHA256 } : {}),
          });
        } catch (err) {
          failed = true;
          throw err;
        }
      }
    };
    // Every worker has settled before the abort: a part still in flight could otherwise outlive it.
    const settled = await Promise.allSettled(Array.from({ length: Math.min(c.concurrency, count) }, worker));
    const rejected = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
    if (rejected) throw rejected.reason;
    parts.sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: c.target.bucket,
        Key: c.target.key,
        UploadId,
        MultipartUpload: { Parts: parts },
      }),
    );
  } catch (err) {
    // Parts of an aborted upload are deleted by S3; without the abort they would linger (and be billed).
    // The copy's own error is what the caller needs; a failed abort is left to the bucket's lifecycle rule
    // (AbortIncompleteMultipartUpload) and to deletePrefix, which aborts uploads under the prefix.
    await cleanup(
      () => s3.send(new AbortMultipartUploadCommand({ Bucket: c.target.bucket, Key: c.target.key, UploadId })),
      ["NoSuchUpload"],
    ).catch(() => {});
    throw err;
  }
}

/**
 * Downloads on AWS: the API Lambda cannot stream a release through itself (responses are capped at 6 MB),
 * so after a link's use is spent and audited, the released plaintext is copied to a one-time object in the
 * releases bucket (SSE-KMS under the permit's key, so crypto-shredding the permit also makes it unreadable)
 * and the client is redirected to a presigned GET that works for `ttlSeconds`. The bucket's lifecycle rule
 * deletes `downloads/` objects after a day.
 */
import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import type { RedeemedDownload } from "@spe/core";
import { DOWNLOADS_PREFIX } from "./bucket-layout";

export { DOWNLOADS_PREFIX };

export interface OffloadOptions {
  s3: S3Client;
  /** The releases bucket. */
  bucket: string;
  /** The permit key's ARN or alias ARN, for SSE-KMS. */
  permitKeyArn(permitId: string): string;
  /** How long the presigned URL works. @default 60 */
  ttlSeconds?: number;
}

/** A spent download link's file (core's RedeemedDownload) and its grant id. */
export type OffloadFile = RedeemedDownload & { grantId: string };

/** A file name safe in a Content-Disposition header: the last path segment, RFC 5987 encoded. */
function disposition(path: string): string {
  const name = path.split("/").at(-1) || "file";
  return `attachment; filename*=UTF-8''${encodeURIComponent(name)}`;
}

/**
 * @returns `offloadDownload` for the API deps: uploads, then presigns.
 * @example createApp({ ...deps, offloadDownload: presignedDownloads({ s3, bucket, permitKeyArn }) })
 */
export function presignedDownloads(o: OffloadOptions): (file: OffloadFile) => Promise<string> {
  const ttl = o.ttlSeconds ?? 60;
  return async (file) => {
    // A fresh random name per use: a URL cannot be re-derived from the grant id, and uses never overwrite.
    const key = `${DOWNLOADS_PREFIX}${file.grantId}/${randomBytes(16).toString("hex")}`;
    const upload = new Upload({
      client: o.s3,
      params: {
        Bucket: o.bucket,
        Key: key,
        Body: Readable.from(file.body),
        ContentType: "application/octet-stream",
        ContentDisposition: disposition(file.path),
        CacheControl: "no-store",
        Metadata: { sha256: file.sha256 },
        ServerSideEncryption: "aws:kms",
        SSEKMSKeyId: o.permitKeyArn(file.permitId),
        BucketKeyEnabled: true,
        ChecksumAlgorithm: "SHA256",
      },
    });
    const done = await upload.done();
    if (!("Key" in done) || !done.Key) throw new Error(`the upload of a download copy did not complete (${key})`);
    return getSignedUrl(o.s3, new GetObjectCommand({ Bucket: o.bucket, Key: key }), { expiresIn: ttl });
  };
}

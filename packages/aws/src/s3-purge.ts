/**
 * Deleting a prefix from a versioned bucket for good, as crypto-shredding needs: a plain DeleteObject on a
 * versioned bucket only adds a delete marker and keeps the bytes as a noncurrent version, so every version
 * and delete marker under the prefix is deleted by version id, and unfinished multipart uploads (whose
 * parts are stored too) are aborted. Idempotent: a failure midway leaves a prefix a retry finishes.
 */
import {
  AbortMultipartUploadCommand,
  DeleteObjectsCommand,
  ListMultipartUploadsCommand,
  ListObjectVersionsCommand,
  type ObjectIdentifier,
  type S3Client,
} from "@aws-sdk/client-s3";
import { underPrefix } from "./s3-routing";
import { cleanup } from "./sdk-errors";

/** DeleteObjects takes at most 1000 keys. */
const BATCH = 1000;

/**
 * Deletes everything under `prefix` (whole segments, see `underPrefix`) in one bucket.
 * @returns how many objects (keys whose newest entry was a version, not a delete marker) there were.
 * @throws the listing's or deletion's error, or an Error when S3 refused to delete some versions.
 */
export async function purgePrefix(s3: S3Client, bucket: string, prefix: string): Promise<number> {
  let count = 0;
  let keyMarker: string | undefined;
  let versionMarker: string | undefined;
  // IsLatest is as of each listing, and deleting a page can make an older version "latest" on the next:
  // a key counts when its first (newest) entry, on the first page it appears on, is a current version.
  let lastKey: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectVersionsCommand({
        Bucket: bucket,
        Prefix: prefix,
        KeyMarker: keyMarker,
        VersionIdMarker: versionMarker,
      }),
    );
    const doomed: ObjectIdentifier[] = [];
    for (const v of page.Versions ?? []) {
      if (!v.Key || !underPrefix(v.Key, prefix)) continue;
      if (v.IsLatest && v.Key !== lastKey) count++;
      doomed.push({ Key: v.Key, VersionId: v.VersionId });
    }
    for (const m of page.DeleteMarkers ?? []) {
      if (m.Key && underPrefix(m.Key, prefix)) doomed.push({ Key: m.Key, VersionId: m.VersionId });
    }
    await deleteVersions(s3, bucket, doomed);
    keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
    versionMarker = page.IsTruncated ? page.NextVersionIdMarker : undefined;
    lastKey = keyMarker;
  } while (keyMarker);
  await abortUploads(s3, bucket, prefix);
  return count;
}

/** Any per-key error fails the call (S3 answers 200 with an Errors list), so that a retry finishes it. */
async function deleteVersions(s3: S3Client, bucket: string, doomed: ObjectIdentifier[]): Promise<void> {
  for (let i = 0; i < doomed.length; i += BATCH) {
    const batch = doomed.slice(i, i + BATCH);
    const res = await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch, Quiet: true } }));
    const errors = res.Errors ?? [];
    if (errors.length > 0) {
      const codes = [...new Set(errors.map((e) => e.Code ?? "unknown"))].join(", ");
      throw new Error(`S3 did not delete ${errors.length} of ${batch.length} object versions in ${bucket} (${codes})`);
    }
  }
}

async function abortUploads(s3: S3Client, bucket: string, prefix: string): Promise<void> {
  let keyMarker: string | undefined;
  let uploadMarker: string | undefined;
  do {
    const page = await s3.send(
      new ListMultipartUploadsCommand({
        Bucket: bucket,
        Prefix: prefix,
        KeyMarker: keyMarker,
        UploadIdMarker: uploadMarker,
      }),
    );
    for (const u of page.Uploads ?? []) {
      if (!u.Key || !u.UploadId || !underPrefix(u.Key, prefix)) continue;
      const { Key, UploadId } = u;
      await cleanup(
        () => s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key, UploadId })),
        ["NoSuchUpload"],
        1,
      );
    }
    keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
    uploadMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
  } while (keyMarker);
}

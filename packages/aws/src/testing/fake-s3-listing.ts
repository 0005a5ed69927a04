/**
 * The paginated listings of the in-memory S3: ListObjectsV2 (continuation tokens), ListObjectVersions and
 * ListMultipartUploads (key + id markers), in S3's orders, so adapters that stop after the first page, or
 * lose their place when entries are deleted between pages, fail their tests.
 */
import type {
  ListMultipartUploadsCommandInput,
  ListObjectsV2CommandInput,
  ListObjectVersionsCommandInput,
} from "@aws-sdk/client-s3";
import { compareKeys, type FakeBucket } from "./fake-s3-bucket";

const limit = (maxKeys: number | undefined, pageSize: number) => Math.max(1, Math.min(maxKeys ?? 1000, pageSize));

export function listObjects(b: FakeBucket, i: ListObjectsV2CommandInput, pageSize: number) {
  const after = i.ContinuationToken ? Buffer.from(i.ContinuationToken, "base64").toString() : i.StartAfter;
  const all = b.objects(i.Prefix ?? "").filter((v) => after === undefined || compareKeys(v.key, after) > 0);
  const page = all.slice(0, limit(i.MaxKeys, pageSize));
  const truncated = page.length < all.length;
  const last = page.at(-1);
  return {
    Name: b.name,
    Prefix: i.Prefix,
    KeyCount: page.length,
    Contents: page.map((v) => ({
      Key: v.key,
      Size: v.body?.byteLength ?? 0,
      ETag: v.etag,
      LastModified: v.lastModified,
    })),
    IsTruncated: truncated,
    ...(truncated && last ? { NextContinuationToken: Buffer.from(last.key).toString("base64") } : {}),
  };
}

export function listVersions(b: FakeBucket, i: ListObjectVersionsCommandInput, pageSize: number) {
  // A marker stays a position even when its version was deleted meanwhile: compare by key, then by age.
  const markerSeq = (() => {
    if (!i.KeyMarker || !i.VersionIdMarker) return undefined;
    const m = /^v(\d{8})/.exec(i.VersionIdMarker);
    return m ? Number(m[1]) : undefined;
  })();
  const all = b.allVersions(i.Prefix ?? "").filter((v) => {
    if (!i.KeyMarker) return true;
    const c = compareKeys(v.key, i.KeyMarker);
    if (c !== 0) return c > 0;
    return markerSeq !== undefined && v.seq < markerSeq;
  });
  const page = all.slice(0, limit(i.MaxKeys, pageSize));
  const truncated = page.length < all.length;
  const last = page.at(-1);
  const latest = (key: string) => b.versions.get(key)?.at(-1)?.versionId;
  return {
    Name: b.name,
    Prefix: i.Prefix,
    Versions: page
      .filter((v) => v.body !== null)
      .map((v) => ({
        Key: v.key,
        VersionId: v.versionId,
        IsLatest: latest(v.key) === v.versionId,
        Size: v.body?.byteLength ?? 0,
        ETag: v.etag,
        LastModified: v.lastModified,
      })),
    DeleteMarkers: page
      .filter((v) => v.body === null)
      .map((v) => ({
        Key: v.key,
        VersionId: v.versionId,
        IsLatest: latest(v.key) === v.versionId,
        LastModified: v.lastModified,
      })),
    IsTruncated: truncated,
    ...(truncated && last ? { NextKeyMarker: last.key, NextVersionIdMarker: last.versionId } : {}),
  };
}

export function listUploads(b: FakeBucket, i: ListMultipartUploadsCommandInput, pageSize: number) {
  const all = [...b.uploads.values()]
    .filter((u) => u.key.startsWith(i.Prefix ?? ""))
    .sort((x, y) => compareKeys(x.key, y.key) || (x.uploadId < y.uploadId ? -1 : 1))
    .filter((u) => {
      if (!i.KeyMarker) return true;
      const c = compareKeys(u.key, i.KeyMarker);
      return c > 0 || (c === 0 && i.UploadIdMarker !== undefined && u.uploadId > i.UploadIdMarker);
    });
  const page = all.slice(0, limit(i.MaxUploads, pageSize));
  const truncated = page.length < all.length;
  const last = page.at(-1);
  return {
    Bucket: b.name,
    Uploads: page.map((u) => ({ Key: u.key, UploadId: u.uploadId })),
    IsTruncated: truncated,
    ...(truncated && last ? { NextKeyMarker: last.key, NextUploadIdMarker: last.uploadId } : {}),
  };
}

/**
 * DatasetSources on AWS: a dataset source is `s3://bucket/prefix` in one of the buckets the deployment
 * allows (SPE_DATASET_BUCKETS); any other scheme or bucket is refused, so a dataset cannot point at the
 * controller's own buckets (staging, audit archive) or at another account's. As with `file://` sources,
 * the prefix names either a "directory" (every object below `prefix/`) or a single object.
 * Reasons given by `check` name the source and the problem, never an object's content.
 */
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import type { DatasetSources } from "@spe/core";
import { checkBucketName } from "./s3-routing";
import { errorName, isError } from "./sdk-errors";

interface Found {
  key: string;
  path: string;
  bytes: number;
}

const SOURCE = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/;

interface Parsed {
  bucket: string;
  /** The prefix as given (`""` for the whole bucket). */
  prefix: string;
  /** Where the source's files are when it is a directory: `prefix/`, or `""`. */
  dir: string;
}

/** Whether a path relative to the source is plain: `/`-separated names, no `.`/`..`, no empty segment. */
const plainPath = (path: string) =>
  path.length > 0 &&
  path.split("/").every((s) => s !== "" && s !== "." && s !== ".." && !/[\u0000-\u001f\u007f]/.test(s));

/** Errors that make a source unusable (a reason for the admin), as opposed to transient ones (rethrown). */
const REFUSALS: Record<string, string> = {
  AccessDenied: "cannot be read by the controller (access denied): grant its role s3:ListBucket and s3:GetObject",
  NoSuchBucket: "names a bucket that does not exist",
  "KMS.DisabledException": "is encrypted under a disabled KMS key",
  "KMS.KMSInvalidStateException": "is encrypted under a KMS key that cannot be used",
  "KMS.NotFoundException": "is encrypted under a KMS key that does not exist",
  AccessDeniedException: "is encrypted under a KMS key the controller may not use (kms:Decrypt)",
};

/**
 * @param allowedBuckets the buckets sources may name (the deployment's dataset buckets).
 * @example s3Sources(new S3Client({}), config.SPE_DATASET_BUCKETS)
 */
export function s3Sources(s3: S3Client, allowedBuckets: readonly string[]): DatasetSources {
  const allowed = new Set(allowedBuckets.map((b) => checkBucketName(b, "dataset bucket")));

  /** The source's parts, or the reason it is not acceptable. */
  const parse = (source: string): Parsed | string => {
    const m = SOURCE.exec(source);
    if (!m) return "this deployment reads s3://bucket/prefix sources only";
    const bucket = m[1] as string;
    const prefix = m[2] ?? "";
    if (!allowed.has(bucket)) {
      return `bucket ${bucket} is not a dataset bucket of this deployment (allowed: ${[...allowed].join(", ")})`;
    }
    const trimmed = prefix.replace(/\/+$/, "");
    if (trimmed !== "" && !plainPath(trimmed)) return "the prefix must be /-separated plain names";
    return { bucket, prefix, dir: trimmed === "" ? "" : `${trimmed}/` };
  };
  const parsed = (source: string): Parsed => {
    const p = parse(source);
    if (typeof p === "string") throw new Error(`dataset source refused: ${p}`);
    return p;
  };
  /** A single-object source: `s3://b/data/x.csv` where `data/x.csv` is an object. */
  const single = (p: Parsed) => p.prefix !== "" && !p.prefix.endsWith("/");
  const basename = (key: string) => key.split("/").at(-1) as string;

  const listDir = async (p: Parsed, max = Number.POSITIVE_INFINITY) => {
    const out: Found[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(
        new ListObjectsV2Command({ Bucket: p.bucket, Prefix: p.dir, ContinuationToken: token }),
      );
      for (const o of page.Contents ?? []) {
        // Keys ending in `/` are the "folders" consoles create: no file.
        if (o.Key && !o.Key.endsWith("/"))
          out.push({ key: o.Key, path: o.Key.slice(p.dir.length), bytes: o.Size ?? 0 });
      }
      token = page.IsTruncated && out.length < max ? page.NextContinuationToken : undefined;
    } while (token);
    return out;
  };

  /** The single object behind the prefix, if there is one. */
  const headSingle = async (p: Parsed): Promise<Found | null> => {
    try {
      const h = await s3.send(new HeadObjectCommand({ Bucket: p.bucket, Key: p.prefix }));
      return { key: p.prefix, path: basename(p.prefix), bytes: h.ContentLength ?? 0 };
    } catch (err) {
      if (isError(err, "NotFound", "NoSuchKey")) return null;
      throw err;
    }
  };

  const files = async (p: Parsed, max?: number): Promise<Found[]> => {
    const dir = await listDir(p, max);
    if (dir.length > 0 || !single(p)) return dir;
    const one = await headSingle(p);
    return one ? [one] : [];
  };

  return {
    async check(source) {
      const p = parse(source);
      if (typeof p === "string") return p;
      try {
        const found = await files(p, 1000);
        if (found.length === 0) return `${source} holds no objects`;
        if (found.some((f) => !plainPath(f.path))) {
          return `${source} holds object keys that are not plain relative paths (empty, "." or ".." segments)`;
        }
        // Listing needs s3:ListBucket only: reading one byte proves s3:GetObject and kms:Decrypt as well.
        const first = found[0] as Found;
        if (first.bytes > 0) {
          const res = await s3.send(new GetObjectCommand({ Bucket: p.bucket, Key: first.key, Range: "bytes=0-0" }));
          await (
            res.Body as { transformToByteArray?: () => Promise<Uint8Array> } | undefined
          )?.transformToByteArray?.();
        }
        return null;
      } catch (err) {
        const name = errorName(err) ?? "";
        const reason = REFUSALS[name];
        if (reason) return `${source} ${reason}`;
        throw err;
      }
    },

    async files(source) {
      const p = parsed(source);
      const found = await files(p);
      const bad = found.filter((f) => !plainPath(f.path)).length;
      if (bad > 0)
        throw new Error(`dataset source refused: ${source} holds ${bad} keys that are not plain relative paths`);
      return found
        .map(({ path, bytes }) => ({ path, bytes }))
        .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    },

    async *read(source, path) {
      const p = parsed(source);
      if (!plainPath(path)) throw new Error("the file is not part of the dataset source");
      const get = (key: string) => s3.send(new GetObjectCommand({ Bucket: p.bucket, Key: key }));
      let res: Awaited<ReturnType<typeof get>>;
      try {
        res = await get(`${p.dir}${path}`);
      } catch (err) {
        // A single-object source's one file is the prefix itself.
        if (!(isError(err, "NoSuchKey") && single(p) && path === basename(p.prefix))) throw err;
        res = await get(p.prefix);
      }
      const body = res.Body;
      if (!body || typeof body !== "object" || !(Symbol.asyncIterator in body)) {
        throw new Error("S3 returned no readable body for a dataset file");
      }
      yield* body as AsyncIterable<Uint8Array>;
    },
  };
}

/**
 * Which bucket holds an ObjectStore key, decided from the key alone so that reads, lists and deletes
 * need no index: egress snapshots sit in the quarantine bucket, approved releases in the releases bucket,
 * archived workspace outputs in the outputs bucket, everything else of a permit (staged data, identifier
 * sets, job logs) in the staging bucket. Every key lies under `permits/<P>/`: an object that belongs to no
 * permit could not be encrypted under, nor shredded with, a permit key, so such keys are refused.
 * No AWS SDK here.
 */

/** The four buckets of the object store (names, as the stacks create them). */
export interface ObjectBuckets {
  staging: string;
  outputs: string;
  quarantine: string;
  releases: string;
}
export type BucketRole = keyof ObjectBuckets;

/** One key segment: 1-255 characters, no control characters, no `/` or `\` (as the file store). */
const SEGMENT = /^[^\u0000-\u001f\u007f/\\]{1,255}$/;
/** S3's own limit on a key, in UTF-8 bytes. */
const MAX_KEY_BYTES = 1024;

export interface ParsedKey {
  /** The key's segments (without the empty one a prefix's trailing `/` would give). */
  segments: string[];
  permitId: string;
}

/**
 * Validates an object key (`prefix: false`) or a list/delete prefix (`prefix: true`, a trailing `/`
 * allowed): `/`-separated plain segments under `permits/<P>/`.
 * @throws Error saying what is wrong (the key names identifiers only, never data).
 */
export function parseKey(key: string, opts: { prefix: boolean }): ParsedKey {
  const segments = key.split("/");
  if (opts.prefix && segments.length > 1 && segments.at(-1) === "") segments.pop();
  const plain = segments.every((s) => s !== "." && s !== ".." && SEGMENT.test(s));
  if (!plain || Buffer.byteLength(key) > MAX_KEY_BYTES) {
    throw new Error(`invalid object key ${JSON.stringify(key)}: use /-separated plain names, at most 1024 bytes`);
  }
  const minimum = opts.prefix ? 2 : 3;
  if (segments[0] !== "permits" || segments.length < minimum) {
    throw new Error(
      `object key ${JSON.stringify(key)} is not under permits/<permit>/: every object belongs to a permit and its key`,
    );
  }
  return { segments, permitId: segments[1] as string };
}

/** The bucket of one object key (its segments, as `parseKey` returns them). */
export function roleOfKey(segments: readonly string[]): BucketRole {
  const [, , area, , sub] = segments;
  if (area === "egress" && sub === "snapshot") return "quarantine";
  if (area === "egress" && sub === "release") return "releases";
  if (area === "workspaces" && sub === "outputs") return "outputs";
  return "staging";
}

/** Every bucket that may hold a key under the prefix (a short prefix spans several). */
export function rolesOfPrefix(segments: readonly string[]): BucketRole[] {
  const [, , area, , sub] = segments;
  if (area === undefined) return ["staging", "outputs", "quarantine", "releases"];
  if (area === "egress" && sub === undefined) return ["staging", "quarantine", "releases"];
  if (area === "workspaces" && sub === undefined) return ["staging", "outputs"];
  return [roleOfKey(segments)];
}

/**
 * Whether `key` lies under `prefix` by whole segments, as on the file store: `a/b` matches `a/b` and
 * `a/b/c`, never `a/bc`; `a/b/` matches only what is below `a/b`.
 */
export function underPrefix(key: string, prefix: string): boolean {
  if (prefix.endsWith("/")) return key.startsWith(prefix);
  return key === prefix || key.startsWith(`${prefix}/`);
}

/** S3 bucket naming rules (general purpose buckets). */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export function checkBucketName(name: string, what: string): string {
  if (!BUCKET.test(name) || name.includes("..")) {
    throw new Error(`${what} ${JSON.stringify(name)} is not a valid S3 bucket name`);
  }
  return name;
}

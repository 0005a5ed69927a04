/**
 * Deploy-time configuration of the AWS stacks: what an operator sets in the environment of `sst deploy`
 * (not of the functions). Read and validated before any resource is defined, so a bad value stops the
 * deployment with a message saying how to fix it instead of producing functions that fail at cold start.
 */

/** What an operator chooses per deployment. */
export interface DeployConfig {
  /** Buckets the dataset sources (`s3://bucket/prefix`) may name; the staging function may read them. */
  readonly datasetBuckets: readonly string[];
  /** Object Lock (COMPLIANCE) default retention of the audit archive, in days. @default 365 */
  readonly auditRetentionDays: number;
  /** Days after a permit's expiry before its key is destroyed. @default 30 */
  readonly keyGraceDays: number;
}

/** The minimum the audit archive keeps every batch: one year (the audit trail outlives the data). */
export const MIN_AUDIT_RETENTION_DAYS = 365;
/** S3 Object Lock accepts at most 100 years of default retention. */
const MAX_AUDIT_RETENTION_DAYS = 36_500;
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

function integer(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined || raw.trim() === "") return fallback;
  const value = Number(raw.trim());
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(
      `${name}=${JSON.stringify(raw)} is invalid: set it to a whole number of days from ${min} to ${max}`,
    );
  }
  return value;
}

/**
 * Reads the deployment's configuration from the environment of `sst deploy`.
 * @throws Error naming the variable, the bad value and the fix.
 * @example readDeployConfig({ SPE_DATASET_BUCKETS: "hospital-a-datasets,registry-b-exports" })
 */
export function readDeployConfig(env: Record<string, string | undefined>): DeployConfig {
  const datasetBuckets = (env.SPE_DATASET_BUCKETS ?? "")
    .split(",")
    .map((b) => b.trim())
    .filter((b) => b !== "");
  if (datasetBuckets.length === 0) {
    throw new Error(
      "SPE_DATASET_BUCKETS is not set: set it to the comma-separated names of the S3 buckets that hold the datasets, " +
        "e.g. SPE_DATASET_BUCKETS=hospital-a-datasets,registry-b-exports npx sst deploy",
    );
  }
  for (const bucket of datasetBuckets) {
    if (!BUCKET_NAME.test(bucket) || bucket.includes("..")) {
      throw new Error(
        `SPE_DATASET_BUCKETS names ${JSON.stringify(bucket)}, which is not an S3 bucket name: ` +
          "list bucket names only (no s3://, no prefix), separated by commas",
      );
    }
  }
  return {
    datasetBuckets: [...new Set(datasetBuckets)],
    auditRetentionDays: integer(
      "SPE_AUDIT_RETENTION_DAYS",
      env.SPE_AUDIT_RETENTION_DAYS,
      MIN_AUDIT_RETENTION_DAYS,
      MIN_AUDIT_RETENTION_DAYS,
      MAX_AUDIT_RETENTION_DAYS,
    ),
    keyGraceDays: integer("SPE_KEY_GRACE_DAYS", env.SPE_KEY_GRACE_DAYS, 30, 0, 180),
  };
}

/** The configuration of this `sst deploy` run: the one place the stacks read the process environment. */
export function deployConfig(): DeployConfig {
  return readDeployConfig(process.env);
}

/**
 * The one way this app makes a bucket: SSE-KMS with bucket keys (the platform key as the default; the adapters
 * write permit data under per-permit keys), versioning, every public access blocked, ACLs disabled, TLS-only
 * bucket policy, server access logs to the access-log bucket, and lifecycle rules that clean up what is not
 * data (incomplete multipart uploads, old versions, stray delete markers) but never expire a current object.
 */
import { Duration, RemovalPolicy, Stack } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as kms from "aws-cdk-lib/aws-kms";
import * as s3 from "aws-cdk-lib/aws-s3";
import type { Construct } from "constructs";

export interface SecureBucketProps {
  /** The default encryption key (objects written without a key of their own). */
  readonly encryptionKey: kms.IKey;
  /** Where S3 writes this bucket's server access logs (under `<id>/`). */
  readonly accessLogs: s3.IBucket;
  /**
   * RETAIN when losing the bucket loses evidence or permit data; DESTROY only for working copies that can be
   * rebuilt (CloudFormation cannot delete a bucket that still holds objects, so DESTROY never loses data silently).
   */
  readonly removalPolicy: RemovalPolicy;
  /**
   * Days before a noncurrent version (an overwritten or deleted object) is removed for good; short, so deleting
   * permit data (crypto-shredding, workspace wipe) really removes it. @default 7
   */
  readonly noncurrentVersionDays?: number;
  /** S3 Object Lock in COMPLIANCE mode with this default retention (days): nobody can delete a version earlier. */
  readonly complianceRetentionDays?: number;
  /** Prefixes of short-lived copies (not evidence), expired with all their versions after a day. */
  readonly expireAfterOneDay?: readonly string[];
}

/**
 * A bucket with every protection this app requires.
 * @throws Error when noncurrentVersionDays or complianceRetentionDays is not a whole number of days, at least 1.
 */
export function secureBucket(scope: Construct, id: string, props: SecureBucketProps): s3.Bucket {
  const noncurrent = props.noncurrentVersionDays ?? 7;
  if (!Number.isInteger(noncurrent) || noncurrent < 1) {
    throw new Error(`noncurrentVersionDays of ${id} is ${noncurrent}: use a whole number of days, at least 1`);
  }
  const retention = props.complianceRetentionDays;
  if (retention !== undefined && (!Number.isInteger(retention) || retention < 1)) {
    throw new Error(`complianceRetentionDays of ${id} is ${retention}: use a whole number of days, at least 1`);
  }
  const locked = retention !== undefined;
  const lifecycleRules: s3.LifecycleRule[] = [
    { id: "abort-incomplete-multipart-uploads", abortIncompleteMultipartUploadAfter: Duration.days(1) },
  ];
  // Under Object Lock every version is evidence until its retention ends: nothing is expired by lifecycle.
  if (!locked) {
    lifecycleRules.push(
      { id: "expire-noncurrent-versions", noncurrentVersionExpiration: Duration.days(noncurrent) },
      { id: "remove-expired-delete-markers", expiredObjectDeleteMarker: true },
    );
  }
  for (const prefix of props.expireAfterOneDay ?? []) {
    lifecycleRules.push({
      id: `expire-${prefix.replace(/[^a-z0-9]/g, "")}-after-one-day`,
      prefix,
      expiration: Duration.days(1),
      noncurrentVersionExpiration: Duration.days(1),
    });
  }
  const bucket = new s3.Bucket(scope, id, {
    encryption: s3.BucketEncryption.KMS,
    encryptionKey: props.encryptionKey,
    bucketKeyEnabled: true,
    enforceSSL: true,
    minimumTLSVersion: 1.2,
    versioned: true,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    lifecycleRules,
    removalPolicy: props.removalPolicy,
    ...(retention !== undefined
      ? {
          objectLockEnabled: true,
          objectLockDefaultRetention: s3.ObjectLockRetention.compliance(Duration.days(retention)),
        }
      : {}),
  });
  logAccessTo(bucket, props.accessLogs, `${id}/`);
  return bucket;
}

/**
 * Server access logging of `bucket` into `logs` under `prefix`, delivered by the S3 logging service under a
 * bucket policy (the access-log bucket has ACLs disabled) limited to this source bucket and account. Written
 * out here rather than through `serverAccessLogsBucket`, whose policy-based delivery depends on a feature flag.
 */
function logAccessTo(bucket: s3.Bucket, logs: s3.IBucket, prefix: string): void {
  const cfn = bucket.node.defaultChild as s3.CfnBucket;
  cfn.loggingConfiguration = { destinationBucketName: logs.bucketName, logFilePrefix: prefix };
  const stack = Stack.of(bucket);
  logs.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: `ServerAccessLogs${prefix.replace(/[^A-Za-z0-9]/g, "")}`,
      principals: [new iam.ServicePrincipal("logging.s3.amazonaws.com")],
      actions: ["s3:PutObject"],
      resources: [logs.arnForObjects(`${prefix}*`)],
      conditions: {
        ArnLike: { "aws:SourceArn": bucket.bucketArn },
        StringEquals: { "aws:SourceAccount": stack.account },
      },
    }),
  );
}

/**
 * The bucket S3 writes the other buckets' server access logs to. S3 log delivery cannot write SSE-KMS objects,
 * so this one bucket is encrypted with S3 managed keys; access logs hold no data, only who did what to which key.
 * Evidence of access: retained, never expired.
 */
export function accessLogBucket(scope: Construct, id: string): s3.Bucket {
  return new s3.Bucket(scope, id, {
    encryption: s3.BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    minimumTLSVersion: 1.2,
    versioned: true,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    lifecycleRules: [
      { id: "abort-incomplete-multipart-uploads", abortIncompleteMultipartUploadAfter: Duration.days(1) },
    ],
    removalPolicy: RemovalPolicy.RETAIN,
  });
}

/**
 * Least-privilege grants on data: the table (Store, AuditLog, its stream), the buckets (ObjectStore, dataset
 * sources, audit archive), the per-permit KMS keys (KeyService) and the audit signing key (Signer). One function
 * per adapter capability, each statement with a Sid so the policies read (and are tested) by capability; the
 * actions are exactly the calls the adapters in packages/aws make. Every wildcard is explained where it is made.
 */
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as kms from "aws-cdk-lib/aws-kms";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import type * as s3 from "aws-cdk-lib/aws-s3";
import type { Stack } from "sst/constructs";
import { allowWildcards, nagArn, nagRef } from "./nag";
import { permitKeyAliasPrefix } from "./names";

const statement = (props: iam.PolicyStatementProps) => new iam.PolicyStatement(props);
const via = (fn: lambda.IFunction, service: string) => ({
  StringEquals: { "kms:ViaService": `${service}.${fn.stack.region}.amazonaws.com` },
});

/**
 * Items of the table and its indexes, and the platform key only as DynamoDB uses it. TransactWriteItems has no
 * IAM action of its own: DynamoDB authorizes each Put/Update/Delete/ConditionCheck inside it.
 */
export function grantStore(fn: lambda.IFunction, table: dynamodb.ITable, platformKey: kms.IKey): void {
  fn.addToRolePolicy(
    statement({
      sid: "StoreItems",
      actions: [
        "dynamodb:GetItem",
        "dynamodb:Query",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:ConditionCheckItem",
      ],
      resources: [table.tableArn, `${table.tableArn}/index/*`],
    }),
  );
  fn.addToRolePolicy(
    statement({
      sid: "StoreKeyThroughDynamoDB",
      actions: ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
      resources: [platformKey.keyArn],
      conditions: via(fn, "dynamodb"),
    }),
  );
  allowWildcards(fn, "the table's own indexes (byKind, byParent): index ARNs exist only under this table", [
    `${nagRef(table, "Arn")}/index/*`,
  ]);
}

/** Reading the table's stream (the audit archiver's event source), decrypting it through DynamoDB only. */
export function grantStreamRead(fn: lambda.IFunction, table: dynamodb.ITable, platformKey: kms.IKey): void {
  if (!table.tableStreamArn) throw new Error(`table ${table.node.path} has no stream to read`);
  fn.addToRolePolicy(
    statement({
      sid: "StreamRead",
      actions: ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"],
      resources: [table.tableStreamArn],
    }),
  );
  fn.addToRolePolicy(statement({ sid: "StreamList", actions: ["dynamodb:ListStreams"], resources: ["*"] }));
  fn.addToRolePolicy(
    statement({
      sid: "StreamKeyThroughDynamoDB",
      actions: ["kms:Decrypt"],
      resources: [platformKey.keyArn],
      conditions: via(fn, "dynamodb"),
    }),
  );
  allowWildcards(fn, "dynamodb:ListStreams supports no resource-level permission (it only lists stream ARNs)", ["*"]);
}

/** Object actions of the ObjectStore adapter (and the runtime's workspace areas), incl. removing old versions. */
export const OBJECT_ACTIONS = [
  "s3:GetObject",
  "s3:PutObject",
  "s3:DeleteObject",
  "s3:DeleteObjectVersion",
  "s3:AbortMultipartUpload",
];
/** Listing objects, their versions (to delete them all) and unfinished multipart uploads (to abort them). */
export const LISTING_ACTIONS = ["s3:ListBucket", "s3:ListBucketVersions", "s3:ListBucketMultipartUploads"];

/**
 * Read, write and delete (all versions) in the given buckets. The objects are encrypted under per-permit keys,
 * whose own key policies let the function roles use them (see `grantPermitKeys`).
 */
export function grantObjects(fn: lambda.IFunction, sid: string, buckets: readonly s3.IBucket[]): void {
  fn.addToRolePolicy(
    statement({ sid: `${sid}Objects`, actions: OBJECT_ACTIONS, resources: buckets.map((b) => b.arnForObjects("*")) }),
  );
  fn.addToRolePolicy(
    statement({ sid: `${sid}Listing`, actions: LISTING_ACTIONS, resources: buckets.map((b) => b.bucketArn) }),
  );
  allowWildcards(
    fn,
    "object keys (permits/<P>/...) are created at runtime; only this deployment's buckets, and every object is " +
      "encrypted under its permit's KMS key, which is a separate grant",
    buckets.map((b) => `${nagRef(b, "Arn")}/*`),
  );
}

/**
 * Reading the dataset source buckets (the data holders'): listing and reading objects. The staging function
 * reads whole files; the API's dataset registration checks a source by listing it and reading its first byte.
 */
export function grantSources(fn: lambda.IFunction, stack: Stack, buckets: readonly string[]): void {
  const arn = (b: string) => `arn:${stack.partition}:s3:::${b}`;
  fn.addToRolePolicy(statement({ sid: "SourcesListing", actions: ["s3:ListBucket"], resources: buckets.map(arn) }));
  fn.addToRolePolicy(
    statement({ sid: "SourcesRead", actions: ["s3:GetObject"], resources: buckets.map((b) => `${arn(b)}/*`) }),
  );
  allowWildcards(
    fn,
    "a dataset source is a prefix whose files are found at runtime; read-only, and only the buckets named in " +
      "SPE_DATASET_BUCKETS at deploy time",
    buckets.map((b) => `arn:<AWS::Partition>:s3:::${b}/*`),
  );
}

/**
 * The per-permit keys, which the key service creates at runtime. Their use and management are NOT granted here:
 * each key's own policy (packages/aws/src/kms-key-policy.ts) names the function roles (fixed names, names.ts:
 * `permitKeyPrincipals`) and what each may do, and no function's IAM policy holds any statement on `key/*`. A
 * statement on `key/*` would need a condition to exclude other keys, and the only one available, a resource tag,
 * is something a function could set on any key of the account whose policy defers to IAM.
 * "use" (task-events) therefore adds nothing to IAM; "manage" adds what has no key policy to rely on: creating a
 * key (no resource exists yet) and the alias side of CreateAlias/DeleteAlias (the key side is in the key policy).
 */
export function grantPermitKeys(fn: lambda.IFunction, stack: Stack, mode: "use" | "manage"): void {
  if (mode === "use") return;
  // A symmetric encryption key only: what the key service creates (kms-key-service.ts sends both parameters).
  fn.addToRolePolicy(
    statement({
      sid: "PermitKeysCreate",
      actions: ["kms:CreateKey"],
      resources: ["*"],
      conditions: { StringEquals: { "kms:KeySpec": "SYMMETRIC_DEFAULT", "kms:KeyUsage": "ENCRYPT_DECRYPT" } },
    }),
  );
  fn.addToRolePolicy(
    statement({
      sid: "PermitKeyAliases",
      actions: ["kms:CreateAlias", "kms:DeleteAlias"],
      resources: [`arn:${stack.partition}:kms:${stack.region}:${stack.account}:${permitKeyAliasPrefix(stack)}*`],
    }),
  );
  allowWildcards(
    fn,
    "kms:CreateKey has no resource (the key does not exist yet): symmetric encryption keys only; what the new key " +
      "may be used for, and by whom, is in the key policy the key service gives it, not in IAM",
    ["*"],
  );
  allowWildcards(fn, "one alias per permit, created at runtime, under this stage's prefix only (alias side only)", [
    nagArn(stack, "kms", `${permitKeyAliasPrefix(stack)}*`),
  ]);
}

/** Signing audit seals: the seal function only. */
export function grantAuditSign(fn: lambda.IFunction, auditKey: kms.IKey): void {
  fn.addToRolePolicy(statement({ sid: "AuditSign", actions: ["kms:Sign"], resources: [auditKey.keyArn] }));
}

/** Verifying audit seals and publishing the public key (API: verification). */
export function grantAuditVerify(fn: lambda.IFunction, auditKey: kms.IKey): void {
  fn.addToRolePolicy(
    statement({ sid: "AuditVerify", actions: ["kms:Verify", "kms:GetPublicKey"], resources: [auditKey.keyArn] }),
  );
}

/** Writing batches to the audit archive (Object Lock applies its default retention), under the platform key. */
export function grantArchiveAppend(fn: lambda.IFunction, archive: s3.IBucket, platformKey: kms.IKey): void {
  fn.addToRolePolicy(
    statement({ sid: "AuditArchivePut", actions: ["s3:PutObject"], resources: [archive.arnForObjects("*")] }),
  );
  fn.addToRolePolicy(
    statement({
      sid: "AuditArchiveKeyThroughS3",
      actions: ["kms:GenerateDataKey"],
      resources: [platformKey.keyArn],
      conditions: via(fn, "s3"),
    }),
  );
  allowWildcards(fn, "batch objects are named at runtime (by sequence range); put only, never read or delete", [
    `${nagRef(archive, "Arn")}/*`,
  ]);
}

/** Sending to an encrypted queue (a dead-letter destination), using its key only through SQS. */
export function grantQueueSend(fn: lambda.IFunction, queueArn: string, key: kms.IKey): void {
  fn.addToRolePolicy(statement({ sid: "DeadLettersSend", actions: ["sqs:SendMessage"], resources: [queueArn] }));
  fn.addToRolePolicy(
    statement({
      sid: "DeadLettersKeyThroughSqs",
      actions: ["kms:GenerateDataKey", "kms:Decrypt"],
      resources: [key.keyArn],
      conditions: via(fn, "sqs"),
    }),
  );
}

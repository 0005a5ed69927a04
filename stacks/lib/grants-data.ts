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
import { permitKeyAliasPrefix, stageOf, taskRoleArnPattern } from "./names";

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
 * which `grantPermitKeys` covers.
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
 * The per-permit keys, which the key service creates at runtime: only keys tagged `spe:stage=<stage>` and aliases
 * under `alias/spe-<stage>/permit/`. "use" = data keys and decryption (also what S3 SSE-KMS needs on the
 * caller's behalf); "manage" adds creating, aliasing, granting to per-permit task roles and scheduling deletion.
 */
export function grantPermitKeys(fn: lambda.IFunction, stack: Stack, mode: "use" | "manage"): void {
  const stage = stageOf(stack);
  const keys = `arn:${stack.partition}:kms:${stack.region}:${stack.account}:key/*`;
  const tagged = { StringEquals: { "aws:ResourceTag/spe:stage": stage } };
  fn.addToRolePolicy(
    statement({
      sid: "PermitKeysUse",
      actions: ["kms:DescribeKey", "kms:GenerateDataKey", "kms:Decrypt"],
      resources: [keys],
      conditions: tagged,
    }),
  );
  allowWildcards(
    fn,
    "per-permit keys are created at runtime (one per permit); every statement on key/* requires the tag " +
      "spe:stage=<stage> (aws:ResourceTag), and the platform and audit keys refuse that tag",
    [nagArn(stack, "kms", "key/*")],
  );
  if (mode === "use") return;
  fn.addToRolePolicy(
    statement({
      sid: "PermitKeysManage",
      actions: [
        "kms:CreateAlias",
        "kms:DeleteAlias",
        "kms:ScheduleKeyDeletion",
        "kms:TagResource",
        "kms:ListGrants",
        "kms:RetireGrant",
        "kms:RevokeGrant",
      ],
      resources: [keys],
      conditions: tagged,
    }),
  );
  // KMS authorizes tags given to CreateKey as kms:TagResource on every key of the account: both actions only
  // with this stage's tag and no tag keys but ours.
  fn.addToRolePolicy(
    statement({
      sid: "PermitKeysCreate",
      actions: ["kms:CreateKey", "kms:TagResource"],
      resources: ["*"],
      conditions: {
        StringEquals: { "aws:RequestTag/spe:stage": stage },
        "ForAllValues:StringEquals": { "aws:TagKeys": ["spe:permit", "spe:stage"] },
      },
    }),
  );
  fn.addToRolePolicy(
    statement({
      sid: "PermitKeyAliases",
      actions: ["kms:CreateAlias", "kms:DeleteAlias"],
      resources: [`arn:${stack.partition}:kms:${stack.region}:${stack.account}:${permitKeyAliasPrefix(stack)}*`],
    }),
  );
  // Grants go only to the per-permit task roles, and only for what a task's S3 access needs.
  fn.addToRolePolicy(
    statement({
      sid: "PermitKeyGrants",
      actions: ["kms:CreateGrant"],
      resources: [keys],
      conditions: {
        ...tagged,
        StringLike: { "kms:GranteePrincipal": taskRoleArnPattern(stack) },
        "ForAllValues:StringEquals": { "kms:GrantOperations": ["Decrypt", "GenerateDataKey", "DescribeKey"] },
      },
    }),
  );
  allowWildcards(
    fn,
    "kms:CreateKey has no resource, and KMS authorizes tags given at creation only on all keys: both require " +
      "aws:RequestTag/spe:stage=<stage> and allow no other tag keys than spe:permit and spe:stage",
    ["*"],
  );
  allowWildcards(fn, "one alias per permit, created at runtime, under this stage's prefix only", [
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

/**
 * Storage: every bucket of the deployment. The permit-data buckets (staging, outputs, quarantine, releases,
 * workspaces), the audit archive (S3 Object Lock, COMPLIANCE mode) and the access-log bucket they all log to.
 * The audit archive is here rather than in the Audit stack because every function's environment names it, and
 * the Audit stack's functions come after the lifecycle functions (see sst.config.ts).
 * Dataset source buckets are not created here: they belong to the data holders and come from SPE_DATASET_BUCKETS.
 */

import { RemovalPolicy } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import { type StackContext, use } from "sst/constructs";
import { DOWNLOADS_PREFIX } from "../packages/aws/src/bucket-layout";
import { Keys } from "./keys";
import { accessLogBucket, secureBucket } from "./lib/buckets";
import { deployConfig } from "./lib/deploy-config";

export function Storage({ stack }: StackContext) {
  const { platformKey } = use(Keys);
  const config = deployConfig();
  const accessLogs = accessLogBucket(stack, "AccessLogs");
  const common = { encryptionKey: platformKey, accessLogs };

  const buckets = {
    // Staged datasets (re-derivable from the sources), identifier sets, job logs: a working area. DESTROY,
    // which CloudFormation refuses while it holds objects, so permit data goes only through crypto-shredding.
    staging: secureBucket(stack, "Staging", { ...common, removalPolicy: RemovalPolicy.DESTROY }),
    // Outputs of terminated workspaces, kept until the permit closes: the researchers' results. RETAIN.
    outputs: secureBucket(stack, "Outputs", { ...common, removalPolicy: RemovalPolicy.RETAIN }),
    // Egress snapshots: exactly what the reviewers saw and decided on. Evidence: RETAIN.
    quarantine: secureBucket(stack, "Quarantine", { ...common, removalPolicy: RemovalPolicy.RETAIN }),
    // Released files: what left the SPE. Evidence: RETAIN. Under `downloads/`, the one-time copies that
    // presigned download links point at (packages/aws/src/download-offload.ts): gone after a day.
    releases: secureBucket(stack, "Releases", {
      ...common,
      removalPolicy: RemovalPolicy.RETAIN,
      expireAfterOneDay: [DOWNLOADS_PREFIX],
    }),
    // Live workspace areas the tasks sync (data/ home/ outputs/): a working copy that churns with every job,
    // wiped at termination; old versions go after one day. DESTROY (only ever succeeds when empty).
    workspaces: secureBucket(stack, "Workspaces", {
      ...common,
      removalPolicy: RemovalPolicy.DESTROY,
      noncurrentVersionDays: 1,
    }),
  };

  // The audit chain's archive: write-once batches and seals that nobody (not even the account root) can
  // delete or overwrite before their retention ends. RETAIN in every stage.
  const auditArchive = secureBucket(stack, "AuditArchive", {
    ...common,
    removalPolicy: RemovalPolicy.RETAIN,
    complianceRetentionDays: config.auditRetentionDays,
  });

  // Writes to the archive never replace a current version: a batch or seal already archived stays the one
  // `aws s3 sync` copies (Object Lock keeps old versions, but a copy takes only the current one).
  auditArchive.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: "DenyOverwritingArchivedObjects",
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ["s3:PutObject"],
      resources: [auditArchive.arnForObjects("*")],
      conditions: { Null: { "s3:if-none-match": "true" } },
    }),
  );
  return { accessLogs, buckets, auditArchive, datasetBuckets: config.datasetBuckets } as const;
}

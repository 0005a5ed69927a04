/**
 * The permissions boundary of every per-permit task role. The runtime writes each role's inline policy (the
 * permit's prefix of the workspaces bucket); the boundary caps whatever that policy says, so a bug or a
 * compromised function can never give a workspace more than: objects of the workspaces bucket, and the permit
 * keys' Decrypt/GenerateDataKey only as S3 uses them for SSE-KMS. Everything else is denied explicitly, which
 * also holds against resource policies that name the role.
 */
import * as iam from "aws-cdk-lib/aws-iam";
import type * as s3 from "aws-cdk-lib/aws-s3";
import type { Stack } from "sst/constructs";
import { nagArn, nagRef, suppress } from "./nag";
import { prefix } from "./names";

const OBJECT_ACTIONS = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"];
const KEY_ACTIONS = ["kms:Decrypt", "kms:GenerateDataKey"];

export interface TaskBoundaryProps {
  /** The live workspace areas (`permits/<P>/workspaces/<W>/...`). */
  readonly workspaces: s3.IBucket;
  /** The VPC's S3 gateway endpoint: task credentials work with S3 only through it. */
  readonly s3EndpointId: string;
}

/** The managed policy `spe-<stage>-task-boundary`. */
export function taskRoleBoundary(stack: Stack, props: TaskBoundaryProps): iam.ManagedPolicy {
  const viaS3 = `s3.${stack.region}.amazonaws.com`;
  const areas = props.workspaces.arnForObjects("permits/*");
  const keys = `arn:${stack.partition}:kms:${stack.region}:${stack.account}:key/*`;
  const boundary = new iam.ManagedPolicy(stack, "TaskRoleBoundary", {
    managedPolicyName: `${prefix(stack)}-task-boundary`,
    description: "SPE: caps every per-permit workspace task role (permissions boundary)",
    statements: [
      new iam.PolicyStatement({ sid: "WorkspaceObjects", actions: OBJECT_ACTIONS, resources: [areas] }),
      new iam.PolicyStatement({
        sid: "WorkspaceListing",
        actions: ["s3:ListBucket"],
        resources: [props.workspaces.bucketArn],
      }),
      new iam.PolicyStatement({
        sid: "PermitKeysThroughS3",
        actions: KEY_ACTIONS,
        resources: [keys],
        conditions: {
          StringEquals: { "kms:ViaService": viaS3, "aws:ResourceTag/spe:stage": stack.stage },
        },
      }),
      new iam.PolicyStatement({
        sid: "DenyEverythingElse",
        effect: iam.Effect.DENY,
        notActions: [...OBJECT_ACTIONS, "s3:ListBucket", ...KEY_ACTIONS],
        resources: ["*"],
      }),
      new iam.PolicyStatement({
        sid: "DenyOtherBuckets",
        effect: iam.Effect.DENY,
        actions: ["s3:*"],
        notResources: [props.workspaces.bucketArn, areas],
      }),
      // Task credentials that leak out of a task (they are short-lived, but a few hundred bytes) are useless
      // anywhere but through this VPC's S3 endpoint.
      new iam.PolicyStatement({
        sid: "DenyS3OutsideTheVpc",
        effect: iam.Effect.DENY,
        actions: ["s3:*"],
        resources: ["*"],
        conditions: { StringNotEquals: { "aws:SourceVpce": props.s3EndpointId } },
      }),
      new iam.PolicyStatement({
        sid: "DenyKeysOutsideS3",
        effect: iam.Effect.DENY,
        actions: ["kms:*"],
        resources: ["*"],
        conditions: { StringNotEquals: { "kms:ViaService": viaS3 } },
      }),
      // Already denied above; stated on its own so that no later edit of the allow list can reopen them.
      new iam.PolicyStatement({
        sid: "DenyIdentityAndCredentials",
        effect: iam.Effect.DENY,
        actions: ["iam:*", "sts:*", "organizations:*", "account:*"],
        resources: ["*"],
      }),
    ],
  });
  suppress(
    boundary,
    "AwsSolutions-IAM5",
    "a permissions boundary is a ceiling, not a grant: each task role's own policy names its permit's prefix, " +
      "and the boundary caps all of them to the workspace areas and to this stage's permit keys through S3",
    [`Resource::${nagRef(props.workspaces, "Arn")}/permits/*`, `Resource::${nagArn(stack, "kms", "key/*")}`],
  );
  return boundary;
}

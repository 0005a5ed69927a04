/**
 * The environment every function gets: exactly the variables of `AwsEnv` (packages/aws/src/config.ts), which
 * each composition root reads and validates at cold start. Built in one place, from what the stacks created,
 * so a variable added to `AwsEnv` fails type checking here until the stacks set it.
 */
import { Fn } from "aws-cdk-lib";
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import type * as ec2 from "aws-cdk-lib/aws-ec2";
import type * as ecs from "aws-cdk-lib/aws-ecs";
import type * as iam from "aws-cdk-lib/aws-iam";
import type * as kms from "aws-cdk-lib/aws-kms";
import type * as logs from "aws-cdk-lib/aws-logs";
import type * as s3 from "aws-cdk-lib/aws-s3";
import type { Stack } from "sst/constructs";
import type { z } from "zod";
import type { AwsEnv } from "../../packages/aws/src/config";
import { functionArn, functionName, permitKeyPrincipals, stageOf, taskRolePath } from "./names";

/** Every variable of `AwsEnv`, optional ones included: the stacks set them all. */
export type FunctionEnvironment = Required<Record<keyof z.input<typeof AwsEnv>, string>>;

/** What the environment is made of: the resources of the earlier stacks. */
export interface EnvironmentSources {
  readonly table: dynamodb.ITable;
  readonly buckets: {
    readonly staging: s3.IBucket;
    readonly outputs: s3.IBucket;
    readonly quarantine: s3.IBucket;
    readonly releases: s3.IBucket;
    readonly workspaces: s3.IBucket;
  };
  readonly auditArchive: s3.IBucket;
  readonly datasetBuckets: readonly string[];
  readonly auditKey: kms.IKey;
  readonly cluster: ecs.ICluster;
  readonly taskDefinition: ecs.TaskDefinition;
  readonly containerName: string;
  readonly workspaceSubnets: readonly ec2.ISubnet[];
  readonly taskSecurityGroup: ec2.ISecurityGroup;
  readonly taskRoleBoundary: iam.IManagedPolicy;
  readonly workspaceLogGroup: logs.ILogGroup;
  readonly workspaceLogStreamPrefix: string;
  readonly scheduleGroupName: string;
  readonly schedulerRole: iam.IRole;
  readonly jwtIssuer: string;
  readonly jwksUrl: string;
  readonly keyGraceDays: number;
}

/** The full `AwsEnv` environment of a function of this app. */
export function functionEnvironment(stack: Stack, s: EnvironmentSources): FunctionEnvironment {
  return {
    SPE_STAGE: stageOf(stack),
    SPE_TABLE_NAME: s.table.tableName,
    SPE_BUCKET_STAGING: s.buckets.staging.bucketName,
    SPE_BUCKET_OUTPUTS: s.buckets.outputs.bucketName,
    SPE_BUCKET_QUARANTINE: s.buckets.quarantine.bucketName,
    SPE_BUCKET_RELEASES: s.buckets.releases.bucketName,
    SPE_BUCKET_AUDIT_ARCHIVE: s.auditArchive.bucketName,
    SPE_BUCKET_WORKSPACES: s.buckets.workspaces.bucketName,
    SPE_DATASET_BUCKETS: s.datasetBuckets.join(","),
    SPE_AUDIT_KEY_ARN: s.auditKey.keyArn,
    SPE_CLUSTER_ARN: s.cluster.clusterArn,
    // The family's ARN without a revision (RunTask takes the latest ACTIVE one), built as a string: the ARN with
    // its revision changes with every new image, and CloudFormation refuses to change an export another stack
    // imports, which would block every deployment of a new workspace image.
    SPE_TASK_DEFINITION_ARN: `arn:${stack.partition}:ecs:${stack.region}:${stack.account}:task-definition/${s.taskDefinition.family}`,
    SPE_CONTAINER_NAME: s.containerName,
    SPE_WORKSPACE_SUBNETS: Fn.join(
      ",",
      s.workspaceSubnets.map((subnet) => subnet.subnetId),
    ),
    SPE_WORKSPACE_SECURITY_GROUP: s.taskSecurityGroup.securityGroupId,
    SPE_TASK_ROLE_BOUNDARY_ARN: s.taskRoleBoundary.managedPolicyArn,
    SPE_TASK_ROLE_PATH: taskRolePath(stack),
    SPE_WORKSPACE_LOG_GROUP: s.workspaceLogGroup.logGroupName,
    SPE_WORKSPACE_LOG_STREAM_PREFIX: s.workspaceLogStreamPrefix,
    SPE_SCHEDULE_GROUP: s.scheduleGroupName,
    SPE_SCHEDULER_ROLE_ARN: s.schedulerRole.roleArn,
    // Built from the fixed name: the expiry function's own environment holds it too (see names.ts).
    SPE_EXPIRE_FUNCTION_ARN: functionArn(stack, "expire"),
    SPE_PROVISION_FUNCTION_NAME: functionName(stack, "provision"),
    SPE_JWT_ISSUER: s.jwtIssuer,
    SPE_JWT_JWKS_URL: s.jwksUrl,
    // Built from the fixed role names (names.ts): every permit key's policy names these roles.
    SPE_PERMIT_KEY_PRINCIPALS: JSON.stringify(permitKeyPrincipals(stack)),
    SPE_KEY_GRACE_DAYS: String(s.keyGraceDays),
  };
}

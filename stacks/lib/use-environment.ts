/**
 * Collects the function environment from the stacks that come before the functions (see sst.config.ts for the
 * order). The expiry scheduler is passed in: the Lifecycle stack defines it next to the functions it serves.
 */
import type * as iam from "aws-cdk-lib/aws-iam";
import { type Stack, use } from "sst/constructs";
import { Auth } from "../auth";
import { Keys } from "../keys";
import { Network } from "../network";
import { State } from "../state";
import { Storage } from "../storage";
import { Workspaces } from "../workspaces";
import { deployConfig } from "./deploy-config";
import { type FunctionEnvironment, functionEnvironment } from "./environment";

/** The full `AwsEnv` environment, for a function defined in `stack`. */
export function useFunctionEnvironment(
  stack: Stack,
  scheduler: { readonly scheduleGroupName: string; readonly schedulerRole: iam.IRole },
): FunctionEnvironment {
  const { auditKey } = use(Keys);
  const { table } = use(State);
  const { buckets, auditArchive, datasetBuckets } = use(Storage);
  const { workspaceSubnets, taskSecurityGroup } = use(Network);
  const { issuer, jwksUrl } = use(Auth);
  const ws = use(Workspaces);
  return functionEnvironment(stack, {
    table,
    buckets,
    auditArchive,
    datasetBuckets,
    auditKey,
    cluster: ws.cluster,
    taskDefinition: ws.taskDefinition,
    containerName: ws.containerName,
    workspaceSubnets,
    taskSecurityGroup,
    taskRoleBoundary: ws.taskRoleBoundary,
    workspaceLogGroup: ws.logGroup,
    workspaceLogStreamPrefix: ws.logStreamPrefix,
    scheduleGroupName: scheduler.scheduleGroupName,
    schedulerRole: scheduler.schedulerRole,
    jwtIssuer: issuer,
    jwksUrl,
    keyGraceDays: deployConfig().keyGraceDays,
  });
}

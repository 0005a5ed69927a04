/**
 * The EcsRuntime's options and the checks on them and on the ids and jobs it is given: everything is
 * validated before any AWS call, and a bad option fails at cold start with the value and the fix.
 */
import type { ECSClient } from "@aws-sdk/client-ecs";
import type { IAMClient } from "@aws-sdk/client-iam";
import type { S3Client } from "@aws-sdk/client-s3";
import { type JobSpec, ValidationError } from "@spe/core";
import type { NetworkOptions, TaskCalls, WaitOptions } from "./ecs-tasks";
import type { RetryOptions } from "./runtime-retry";
import type { TaskRoleOptions } from "./task-role";

/** What the runtime needs of the KMS key service (kms-key-service.ts implements exactly this). */
export interface WorkspaceKeyGrants {
  /** The alias ARN of the permit's key: every workspace object is encrypted under it (SSE-KMS). */
  permitKeyAliasArn(permitId: string): string;
  /** Lets `roleArn` use the permit key for this workspace. Idempotent. */
  grantWorkspace(permitId: string, workspaceId: string, roleArn: string): Promise<void>;
  /** Retires every grant made for the workspace. Idempotent. */
  retireWorkspaceGrants(permitId: string, workspaceId: string): Promise<void>;
}

export interface EcsRuntimeOptions {
  ecs: ECSClient;
  s3: S3Client;
  iam: IAMClient;
  keys: WorkspaceKeyGrants;
  /** The workspaces bucket (versioned, SSE-KMS, block public access). */
  bucket: string;
  /** The cluster's ARN (its account, region and partition name the task roles' trust). */
  cluster: string;
  taskDefinition: string;
  containerName: string;
  /** Isolated subnets (no route to the internet); tasks never get a public IP. */
  subnets: string[];
  securityGroup: string;
  roleBoundaryArn: string;
  rolePath: string;
  stage: string;
  outputsQuotaBytes: number;
  /** The permit of a workspace (from the store), or null when there is no such workspace. */
  resolveWorkspace(workspaceId: string): Promise<{ permitId: string } | null>;
  /** @default () => new Date() */
  now?: () => Date;
  /** Backoff of throttled calls (tests pass a sleep that returns at once). */
  retry?: RetryOptions;
  /** How long stopJobs waits for tasks to stop. */
  stopWait?: WaitOptions;
}

export const WORKSPACE_ID = /^ws-[0-9a-z]{1,64}$/;
export const JOB_ID = /^job-[0-9a-z]{1,64}$/;
export const PERMIT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const CLUSTER_ARN = /^arn:(aws[a-z-]*):ecs:([a-z0-9-]+):(\d{12}):cluster\/[A-Za-z0-9_-]{1,255}$/;
function invalid(what: string, value: unknown, fix: string): Error {
  return new Error(`invalid EcsRuntime option ${what}: ${JSON.stringify(value)}; ${fix}`);
}

/** @throws ValidationError `runtime.invalid_<kind>` for a malformed id, before it reaches a key or a call. */
export function checkId(kind: string, id: string, pattern: RegExp): string {
  if (typeof id !== "string" || !pattern.test(id)) {
    throw new ValidationError(`runtime.invalid_${kind}`, `invalid ${kind} id`, [{ path: kind, message: "malformed" }]);
  }
  return id;
}

/** The options, checked, as the runtime's parts take them. @throws Error naming the bad option and the fix. */
export function resolveOptions(o: EcsRuntimeOptions): {
  role: TaskRoleOptions;
  tasks: TaskCalls;
  network: NetworkOptions;
} {
  const m = CLUSTER_ARN.exec(o.cluster);
  if (!m) throw invalid("cluster", o.cluster, "pass the cluster's ARN, arn:aws:ecs:<region>:<account>:cluster/<name>");
  if (!Array.isArray(o.subnets) || o.subnets.length === 0 || o.subnets.some((s) => !/^subnet-[0-9a-f]+$/.test(s))) {
    throw invalid("subnets", o.subnets, "pass the isolated subnets' ids, subnet-...");
  }
  if (!/^sg-[0-9a-f]+$/.test(o.securityGroup)) throw invalid("securityGroup", o.securityGroup, "pass sg-...");
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(o.bucket)) throw invalid("bucket", o.bucket, "pass a bucket name");
  if (!/^[a-z0-9-]{1,24}$/.test(o.stage)) throw invalid("stage", o.stage, "use 1-24 of a-z, 0-9, -");
  if (!/^\/([\w+=,.@-]+\/)*$/.test(o.rolePath)) throw invalid("rolePath", o.rolePath, "use /a/b/ form");
  if (!o.roleBoundaryArn.startsWith("arn:")) throw invalid("roleBoundaryArn", o.roleBoundaryArn, "pass an ARN");
  if (!Number.isSafeInteger(o.outputsQuotaBytes) || o.outputsQuotaBytes < 1) {
    throw invalid("outputsQuotaBytes", o.outputsQuotaBytes, "pass a positive integer");
  }
  if (!o.containerName || !o.taskDefinition) throw invalid("containerName/taskDefinition", "", "pass both");
  const [, partition, region, account] = m as unknown as [string, string, string, string];
  const role: TaskRoleOptions = {
    iam: o.iam,
    stage: o.stage,
    rolePath: o.rolePath,
    boundaryArn: o.roleBoundaryArn,
    bucket: o.bucket,
    partition,
    account,
    region,
    ...(o.retry ? { retry: o.retry } : {}),
  };
  const tasks: TaskCalls = { ecs: o.ecs, cluster: o.cluster, ...(o.retry ? { retry: o.retry } : {}) };
  const network: NetworkOptions = {
    cluster: o.cluster,
    taskDefinition: o.taskDefinition,
    containerName: o.containerName,
    subnets: o.subnets,
    securityGroup: o.securityGroup,
  };
  return { role, tasks, network };
}

/** @throws ValidationError for a command that is not a non-empty argv, or bad limits. */
export function checkJob(spec: JobSpec): void {
  const bad = (path: string, message: string) =>
    new ValidationError("runtime.invalid_job", `invalid job: ${path} ${message}`, [{ path, message }]);
  const c = spec.command;
  if (!Array.isArray(c) || c.length === 0 || c[0] === "") throw bad("command", "must be a non-empty argv array");
  c.forEach((arg, i) => {
    if (typeof arg !== "string" || arg.includes("\0")) throw bad(`command[${i}]`, "must be a string without NUL");
  });
  if (!Number.isSafeInteger(spec.timeoutSeconds) || spec.timeoutSeconds < 1 || spec.timeoutSeconds > 30 * 86_400) {
    throw bad("timeoutSeconds", "must be an integer from 1 to 2592000");
  }
  if (!Number.isSafeInteger(spec.memoryMiB) || spec.memoryMiB < 1) throw bad("memoryMiB", "must be a positive integer");
}

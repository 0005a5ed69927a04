/**
 * The per-permit IAM role workspace tasks run with: created on a permit's first workspace, capped by the
 * deployment's permissions boundary, assumable only by ECS tasks of this account, allowed to read its
 * permit's workspace objects and to write only their `home/` and `outputs/` areas. Decrypting needs more:
 * a KMS grant on the permit key per workspace (kms-key-service.ts), retired when the workspace stops.
 */
import { createHash } from "node:crypto";
import {
  CreateRoleCommand,
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  GetRoleCommand,
  type IAMClient,
  PutRolePolicyCommand,
} from "@aws-sdk/client-iam";
import { type RetryOptions, retrying } from "./runtime-retry";
import { isError } from "./sdk-errors";

/** Inline policy name on every task role. */
export const ACCESS_POLICY_NAME = "spe-workspace-areas";
const MAX_ROLE_NAME = 64;

export interface TaskRoleOptions {
  iam: IAMClient;
  stage: string;
  /** e.g. `/spe/prod/` */
  rolePath: string;
  /** The managed policy every task role is created with as its permissions boundary. */
  boundaryArn: string;
  /** The workspaces bucket. */
  bucket: string;
  partition: string;
  account: string;
  region: string;
  retry?: RetryOptions;
}

/**
 * `spe-<stage>-permit-<P>`. IAM role names are unique regardless of case and at most 64 characters, so a
 * permit id with capitals, or one too long, gets a shortened name with a hash of the exact id, under another
 * infix (`permit_`): no plain name can equal a hashed one (two permits must never share a role).
 */
export function taskRoleName(stage: string, permitId: string): string {
  const plain = `spe-${stage}-permit-${permitId}`;
  if (plain.length <= MAX_ROLE_NAME && permitId === permitId.toLowerCase()) return plain;
  const hash = createHash("sha256").update(permitId).digest("hex").slice(0, 12);
  const room = MAX_ROLE_NAME - `spe-${stage}-permit_-${hash}`.length;
  return `spe-${stage}-permit_${permitId.slice(0, Math.max(0, room)).toLowerCase()}-${hash}`;
}

interface ExistingRole {
  Path?: string;
  PermissionsBoundary?: { PermissionsBoundaryArn?: string };
  AssumeRolePolicyDocument?: string;
  Tags?: { Key?: string; Value?: string }[];
}

const permitTag = (role: ExistingRole) => role.Tags?.find((t) => t.Key === "spe:permit")?.Value;

/** Whether an existing role is the one this runtime made for the permit: its tag, path, boundary and trust. */
function isOurs(o: TaskRoleOptions, permitId: string, role: ExistingRole): boolean {
  let trust: unknown = null;
  try {
    // IAM returns the trust policy URL-encoded.
    trust = JSON.parse(decodeURIComponent(role.AssumeRolePolicyDocument ?? ""));
  } catch {
    trust = null;
  }
  return (
    permitTag(role) === permitId &&
    role.Path === o.rolePath &&
    role.PermissionsBoundary?.PermissionsBoundaryArn === o.boundaryArn &&
    JSON.stringify(trust) === JSON.stringify(trustPolicy(o))
  );
}

/** Only ECS tasks started in this account and region may assume the role (no confused deputy). */
export function trustPolicy(o: Pick<TaskRoleOptions, "partition" | "account" | "region">) {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { Service: "ecs-tasks.amazonaws.com" },
        Action: "sts:AssumeRole",
        Condition: {
          StringEquals: { "aws:SourceAccount": o.account },
          ArnLike: { "aws:SourceArn": `arn:${o.partition}:ecs:${o.region}:${o.account}:*` },
        },
      },
    ],
  };
}

/** Read the permit's workspace objects; write and delete only under `home/` and `outputs/`. */
export function accessPolicy(o: Pick<TaskRoleOptions, "partition" | "bucket">, permitId: string) {
  const bucket = `arn:${o.partition}:s3:::${o.bucket}`;
  const workspaces = `permits/${permitId}/workspaces/`;
  return {
    Version: "2012-10-17",
    Statement: [
      { Sid: "ReadWorkspaces", Effect: "Allow", Action: "s3:GetObject", Resource: `${bucket}/${workspaces}*` },
      {
        Sid: "WriteWorkAreas",
        Effect: "Allow",
        Action: ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
        Resource: [`${bucket}/${workspaces}*/home/*`, `${bucket}/${workspaces}*/outputs/*`],
      },
      {
        Sid: "ListWorkspaces",
        Effect: "Allow",
        Action: "s3:ListBucket",
        Resource: bucket,
        Condition: { StringLike: { "s3:prefix": [`${workspaces}*`] } },
      },
    ],
  };
}

/**
 * Creates the permit's task role if it does not exist and (re)writes its access policy. Idempotent.
 * @returns the role's ARN.
 * @throws Error when a role of that name exists without the deployment's boundary (never adopted).
 */
export async function ensureTaskRole(o: TaskRoleOptions, permitId: string): Promise<string> {
  const RoleName = taskRoleName(o.stage, permitId);
  let arn: string;
  try {
    const created = await retrying(
      "creating the permit's task role",
      () =>
        o.iam.send(
          new CreateRoleCommand({
            RoleName,
            Path: o.rolePath,
            AssumeRolePolicyDocument: JSON.stringify(trustPolicy(o)),
            PermissionsBoundary: o.boundaryArn,
            Description: `SPE workspace tasks of permit ${permitId}`,
            MaxSessionDuration: 3600,
            Tags: [
              { Key: "spe:permit", Value: permitId },
              { Key: "spe:stage", Value: o.stage },
            ],
          }),
        ),
      o.retry,
    );
    arn = created.Role!.Arn!;
  } catch (err) {
    if (!isError(err, "EntityAlreadyExistsException")) throw err;
    const existing = await retrying(
      "reading the permit's task role",
      () => o.iam.send(new GetRoleCommand({ RoleName })),
      o.retry,
    );
    const role = existing.Role!;
    // A role of that name made by someone else (another trust, no boundary, another permit's tag) is never adopted.
    if (!isOurs(o, permitId, role)) {
      throw new Error(
        `refusing to use IAM role ${RoleName}: it exists without this permit's tag, the workspace boundary, path or trust; delete it and retry`,
      );
    }
    arn = role.Arn!;
  }
  await retrying(
    "writing the task role's policy",
    () =>
      o.iam.send(
        new PutRolePolicyCommand({
          RoleName,
          PolicyName: ACCESS_POLICY_NAME,
          PolicyDocument: JSON.stringify(accessPolicy(o, permitId)),
        }),
      ),
    o.retry,
  );
  return arn;
}

/**
 * Deletes the permit's task role once its data is destroyed (roles count against the account's IAM quota).
 * Idempotent: a role or policy already gone is fine.
 */
export async function deleteTaskRole(o: TaskRoleOptions, permitId: string): Promise<void> {
  const RoleName = taskRoleName(o.stage, permitId);
  const gone = (err: unknown) => isError(err, "NoSuchEntityException");
  // Never delete a role that is not this permit's (a name someone else took, another permit's tag).
  const existing = await retrying(
    "reading the permit's task role",
    () => o.iam.send(new GetRoleCommand({ RoleName })),
    o.retry,
  ).catch((err: unknown) => {
    if (gone(err)) return null;
    throw err;
  });
  if (!existing?.Role) return;
  if (permitTag(existing.Role) !== permitId) {
    throw new Error(`refusing to delete IAM role ${RoleName}: it is not tagged as permit ${permitId}'s task role`);
  }
  await retrying(
    "deleting the task role's policy",
    () => o.iam.send(new DeleteRolePolicyCommand({ RoleName, PolicyName: ACCESS_POLICY_NAME })),
    o.retry,
  ).catch((err: unknown) => {
    if (!gone(err)) throw err;
  });
  await retrying(
    "deleting the permit's task role",
    () => o.iam.send(new DeleteRoleCommand({ RoleName })),
    o.retry,
  ).catch((err: unknown) => {
    if (!gone(err)) throw err;
  });
}

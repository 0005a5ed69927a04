/**
 * Names the stacks choose themselves, derived from the stage. Some must be known before the resource exists:
 * the expiry function's ARN is in its own environment (and in every other function's), which a CloudFormation
 * reference cannot express without a cycle, so the function gets a fixed name and its ARN is built from it.
 * The function roles have fixed names for the same reason: every permit key's policy names them, and the
 * functions create those keys, so their ARNs are plain strings in every stack (no cross-stack reference).
 * The runtime-created names (key aliases, task roles, schedules) follow the same `spe-<stage>` prefix.
 */
import type { Stack } from "sst/constructs";

/** The stage must fit in every derived name and in `SPE_STAGE` (packages/aws/src/config.ts). */
const STAGE = /^[a-z0-9-]{1,24}$/;

/** The functions of the app, by their handler file under functions/. */
export type FunctionKey = "api" | "provision" | "expire" | "sweep" | "task-events" | "archive-audit" | "seal-audit";

/**
 * The checked stage of a stack.
 * @throws Error when the stage cannot be part of the runtime-created names.
 */
export function stageOf(stack: Stack): string {
  if (!STAGE.test(stack.stage)) {
    throw new Error(
      `stage ${JSON.stringify(stack.stage)} is invalid: use 1 to 24 lowercase letters, digits or dashes (e.g. --stage prod)`,
    );
  }
  return stack.stage;
}

/** `spe-<stage>`: the prefix of every name this app chooses. */
export function prefix(stack: Stack): string {
  return `spe-${stageOf(stack)}`;
}

/** A function's fixed name, e.g. `spe-prod-expire` (at most 43 characters: Lambda allows 64). */
export function functionName(stack: Stack, key: FunctionKey): string {
  return `${prefix(stack)}-${key}`;
}

/** A function's ARN from its fixed name, without a reference to the function. */
export function functionArn(stack: Stack, key: FunctionKey): string {
  return `arn:${stack.partition}:lambda:${stack.region}:${stack.account}:function:${functionName(stack, key)}`;
}

/** A function role's fixed name, e.g. `spe-prod-fn-expire` (at most 45 characters: IAM allows 64). */
export function functionRoleName(stack: Stack, key: FunctionKey): string {
  return `${prefix(stack)}-fn-${key}`;
}

/** A function role's ARN from its fixed name (no path), without a reference to the role. */
export function functionRoleArn(stack: Stack, key: FunctionKey): string {
  return `arn:${stack.partition}:iam::${stack.account}:role/${functionRoleName(stack, key)}`;
}

/** The functions that create, alias, grant and destroy permit keys: the admins of every permit key's policy. */
export const PERMIT_KEY_ADMINS: readonly FunctionKey[] = ["api", "provision", "expire", "sweep"];
/** The functions that only use permit keys (task-events stores job logs under them). */
export const PERMIT_KEY_USERS: readonly FunctionKey[] = ["task-events"];

/** What `SPE_PERMIT_KEY_PRINCIPALS` holds: the role ARNs the key service names in each permit key's policy. */
export function permitKeyPrincipals(stack: Stack): { admins: string[]; users: string[] } {
  return {
    admins: PERMIT_KEY_ADMINS.map((k) => functionRoleArn(stack, k)),
    users: PERMIT_KEY_USERS.map((k) => functionRoleArn(stack, k)),
  };
}

/** IAM path of the per-permit task roles the runtime creates, e.g. `/spe/prod/`. */
export function taskRolePath(stack: Stack): string {
  return `/spe/${stageOf(stack)}/`;
}

/** ARN pattern of every per-permit task role (`spe-<stage>-permit-<P>` under the task role path). */
export function taskRoleArnPattern(stack: Stack): string {
  return `arn:${stack.partition}:iam::${stack.account}:role${taskRolePath(stack)}*`;
}

/** Alias prefix of the per-permit KMS keys the key service creates (`alias/spe-<stage>/permit/<P>`). */
export function permitKeyAliasPrefix(stack: Stack): string {
  return `alias/spe-${stageOf(stack)}/permit/`;
}

/** Log group of the workspace tasks (awslogs), named up front so the network's Logs endpoint policy can name it. */
export function workspaceLogGroupName(stack: Stack): string {
  return `/spe/${stageOf(stack)}/workspace-tasks`;
}

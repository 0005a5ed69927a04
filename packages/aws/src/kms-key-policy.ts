/**
 * The key policy every per-permit KMS key is created with. It is the ONLY thing that lets this deployment's
 * functions use and manage a permit key: their IAM policies hold no statement on `key/*` (no tag-based
 * statement either, since a tag is something a function could set on any key of the account whose policy
 * defers to IAM, which is how a compromised function could have pulled foreign keys into its scope).
 *
 * - `AccountAdministers`: the account root, `kms:*`. This does not open the key to every principal of the
 *   account: it lets IAM policies of the account decide, as for any key with the default policy, so that the
 *   account's administrators can always inspect, re-police, cancel the deletion of or delete the key (without
 *   it, once the function roles are replaced or removed, nobody could manage the key short of AWS Support).
 *   The functions' IAM policies grant nothing on keys, so this adds nothing for them.
 * - `KeyAdminsUse` / `KeyAdminsManage` / `KeyAdminsGrantToTaskRoles`: the key-managing function roles (api,
 *   provision, expire, sweep). Use = exactly what the adapters and S3 SSE-KMS call (DescribeKey,
 *   GenerateDataKey, Decrypt; never Encrypt). Manage = the key side of CreateAlias/DeleteAlias (the alias side
 *   is in IAM), tagging (set once after creation, only our two tag keys, only this stage), listing and revoking
 *   grants, scheduling deletion. Grants only to the per-permit task roles (`<taskRolePath>*`) and only for
 *   Decrypt/GenerateDataKey/DescribeKey. Never PutKeyPolicy, CancelKeyDeletion, EnableKey, DisableKey...
 * - `KeyUsersUse`: roles that only read and store data under the key (task-events: job logs).
 */
import { GRANT_OPERATIONS } from "./kms-grants";

/** The tags the key service sets on each permit key after creating it. */
export const PERMIT_KEY_TAG_KEYS = ["spe:permit", "spe:stage"] as const;
export const KEY_USE_ACTIONS = ["kms:DescribeKey", "kms:GenerateDataKey", "kms:Decrypt"] as const;
export const KEY_MANAGE_ACTIONS = [
  "kms:CreateAlias",
  "kms:DeleteAlias",
  "kms:ListGrants",
  "kms:RevokeGrant",
  "kms:ScheduleKeyDeletion",
] as const;

export interface PermitKeyPolicyOptions {
  partition: string;
  accountId: string;
  stage: string;
  /** Role ARNs of the functions that create, alias, grant and destroy permit keys. At least one. */
  keyAdmins: readonly string[];
  /** Role ARNs of the functions that only use the keys (Decrypt, GenerateDataKey, DescribeKey). */
  keyUsers: readonly string[];
  /** IAM path of the per-permit task roles, e.g. `/spe/prod/`: grants go to roles under it only. */
  taskRolePath: string;
}

interface Statement {
  Sid: string;
  Effect: "Allow";
  Principal: { AWS: string | string[] };
  Action: string | string[];
  Resource: "*";
  Condition?: Record<string, Record<string, string | readonly string[]>>;
}

export interface KeyPolicyDocument {
  Version: "2012-10-17";
  Id: string;
  Statement: Statement[];
}

const ROLE_PATH = /^\/([\w+=,.@-]+\/)*$/;

/** The role ARN pattern of this account, or an error naming the bad value. */
function checkRoles(what: string, arns: readonly string[], partition: string, accountId: string): string[] {
  const role = new RegExp(`^arn:${partition}:iam::${accountId}:role/[\\w+=,.@/-]{1,512}$`);
  for (const a of arns) {
    if (!role.test(a)) throw new Error(`${what} ${JSON.stringify(a)} is not an IAM role ARN of account ${accountId}`);
  }
  return [...new Set(arns)].sort();
}

/**
 * The policy document of a new permit key.
 * @throws Error when a principal is not a role of this account, there is no key admin, or the path is not an IAM path.
 */
export function permitKeyPolicy(o: PermitKeyPolicyOptions): KeyPolicyDocument {
  const admins = checkRoles("key admin", o.keyAdmins, o.partition, o.accountId);
  const users = checkRoles("key user", o.keyUsers, o.partition, o.accountId).filter((u) => !admins.includes(u));
  if (admins.length === 0)
    throw new Error("a permit key needs at least one key admin role (the functions that manage it)");
  if (!ROLE_PATH.test(o.taskRolePath) || o.taskRolePath === "/") {
    throw new Error(`taskRolePath ${JSON.stringify(o.taskRolePath)} must be an IAM path below / such as /spe/prod/`);
  }
  const statements: Statement[] = [
    {
      Sid: "AccountAdministers",
      Effect: "Allow",
      Principal: { AWS: `arn:${o.partition}:iam::${o.accountId}:root` },
      Action: "kms:*",
      Resource: "*",
    },
    { Sid: "KeyAdminsUse", Effect: "Allow", Principal: { AWS: admins }, Action: [...KEY_USE_ACTIONS], Resource: "*" },
    {
      Sid: "KeyAdminsManage",
      Effect: "Allow",
      Principal: { AWS: admins },
      Action: [...KEY_MANAGE_ACTIONS],
      Resource: "*",
    },
    {
      Sid: "KeyAdminsTagOnce",
      Effect: "Allow",
      Principal: { AWS: admins },
      Action: "kms:TagResource",
      Resource: "*",
      Condition: {
        StringEquals: { "aws:RequestTag/spe:stage": o.stage },
        "ForAllValues:StringEquals": { "aws:TagKeys": [...PERMIT_KEY_TAG_KEYS] },
      },
    },
    {
      Sid: "KeyAdminsGrantToTaskRoles",
      Effect: "Allow",
      Principal: { AWS: admins },
      Action: "kms:CreateGrant",
      Resource: "*",
      Condition: {
        StringLike: { "kms:GranteePrincipal": `arn:${o.partition}:iam::${o.accountId}:role${o.taskRolePath}*` },
        "ForAllValues:StringEquals": { "kms:GrantOperations": [...GRANT_OPERATIONS] },
      },
    },
  ];
  if (users.length > 0) {
    statements.push({
      Sid: "KeyUsersUse",
      Effect: "Allow",
      Principal: { AWS: users },
      Action: [...KEY_USE_ACTIONS],
      Resource: "*",
    });
  }
  return { Version: "2012-10-17", Id: `spe-${o.stage}-permit-key`, Statement: statements };
}

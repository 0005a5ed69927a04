/**
 * What the AWS composition roots (functions/*.ts) need to know about the deployment: names and ARNs the
 * stacks (stacks/*.ts) pass to every function as environment variables. Read and validated once, at cold
 * start, by `readAwsConfig`; adapters take these values as explicit options and never read the environment.
 */
import { z } from "zod";

const arn = z.string().startsWith("arn:");
const list = z
  .string()
  .transform((s) => s.split(",").map((x) => x.trim()))
  .pipe(z.array(z.string().min(1)).min(1));

const roleArn = z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/, "an IAM role ARN");
/** `{"admins":[role ARN...],"users":[role ARN...]}`: a JSON object in one variable. */
const principals = z
  .string()
  .transform((s, ctx) => {
    try {
      return JSON.parse(s) as unknown;
    } catch {
      ctx.addIssue({ code: "custom", message: "not JSON" });
      return z.NEVER;
    }
  })
  .pipe(z.object({ admins: z.array(roleArn).min(1), users: z.array(roleArn) }).strict());

/** The environment variables, by name, with what the stacks put in them. */
export const AwsEnv = z.object({
  /** The SST stage, e.g. `prod`: part of every runtime-created name (key aliases, roles, schedules). */
  SPE_STAGE: z.string().regex(/^[a-z0-9-]{1,24}$/),
  /** The single DynamoDB table (state, audit chain, idempotency, wrapped permit keys). */
  SPE_TABLE_NAME: z.string().min(3),
  /** Encrypted staged datasets, identifier sets, job logs, archived outputs. */
  SPE_BUCKET_STAGING: z.string().min(3),
  /** Archived outputs of terminated workspaces. */
  SPE_BUCKET_OUTPUTS: z.string().min(3),
  /** Egress snapshots awaiting review. */
  SPE_BUCKET_QUARANTINE: z.string().min(3),
  /** Approved releases, served by presigned GET. */
  SPE_BUCKET_RELEASES: z.string().min(3),
  /** The audit archive (S3 Object Lock, COMPLIANCE mode): batches of the chain and its seals. */
  SPE_BUCKET_AUDIT_ARCHIVE: z.string().min(3),
  /** Live workspace areas (`data/` `home/` `outputs/`) that the ECS tasks sync. */
  SPE_BUCKET_WORKSPACES: z.string().min(3),
  /** Buckets dataset sources (`s3://bucket/prefix`) may name; anything else is refused. */
  SPE_DATASET_BUCKETS: list,
  /** The KMS asymmetric key (ECC_NIST_P256, SIGN_VERIFY) that signs audit seals. */
  SPE_AUDIT_KEY_ARN: arn,
  /** ECS cluster, workspace task definition, its container name and the networking of its tasks. */
  SPE_CLUSTER_ARN: arn,
  SPE_TASK_DEFINITION_ARN: arn,
  SPE_CONTAINER_NAME: z.string().min(1).default("workspace"),
  SPE_WORKSPACE_SUBNETS: list,
  SPE_WORKSPACE_SECURITY_GROUP: z.string().startsWith("sg-"),
  /** The managed policy that caps every per-permit task role (permissions boundary). */
  SPE_TASK_ROLE_BOUNDARY_ARN: arn,
  /** Path under which per-permit task roles are created, e.g. `/spe/prod/`. */
  SPE_TASK_ROLE_PATH: z.string().regex(/^\/([\w+=,.@-]+\/)*$/),
  /** Log group of the workspace tasks (awslogs), where job stdout/stderr is read from. */
  SPE_WORKSPACE_LOG_GROUP: z.string().min(1),
  /** The awslogs stream prefix of the workspace task definition (streams are `<prefix>/<container>/<task id>`). */
  SPE_WORKSPACE_LOG_STREAM_PREFIX: z
    .string()
    .regex(/^[\w.-]{1,64}$/)
    .default("job"),
  /** EventBridge Scheduler group and the role it assumes to invoke the expiry function. */
  SPE_SCHEDULE_GROUP: z.string().min(1),
  SPE_SCHEDULER_ROLE_ARN: arn,
  SPE_EXPIRE_FUNCTION_ARN: arn,
  /** The function that provisions a workspace (staging + start), invoked asynchronously by the API. */
  SPE_PROVISION_FUNCTION_NAME: z.string().min(1),
  /** Cognito: issuer and JWKS of the user pool. */
  SPE_JWT_ISSUER: z.string().url(),
  SPE_JWT_JWKS_URL: z.string().url(),
  /**
   * The function roles named in every new permit key's policy (kms-key-policy.ts): `admins` create, alias,
   * grant and destroy permit keys (api, provision, expire, sweep), `users` only use them (task-events).
   */
  SPE_PERMIT_KEY_PRINCIPALS: principals,
  SPE_KEY_GRACE_DAYS: z.coerce.number().int().min(0).max(180).default(30),
});
export type AwsConfig = z.infer<typeof AwsEnv>;

/** What only the API function gets, for its web console: sign-in through Cognito's hosted UI. */
export const ConsoleEnv = z.object({
  /** The platform KMS key, which wraps the console's session-cookie key (console-key.ts). */
  SPE_PLATFORM_KEY_ARN: arn,
  /** The console's public app client (authorization code + PKCE, no secret). */
  SPE_CONSOLE_CLIENT_ID: z.string().min(1),
  /** The hosted UI's base URL, e.g. https://spe-prod-123456789012.auth.eu-west-1.amazoncognito.com */
  SPE_AUTH_DOMAIN_URL: z.string().url(),
  /** `<API URL>/console/oidc/callback`, as registered with the app client. */
  SPE_CONSOLE_REDIRECT_URI: z.string().url(),
});
export type ConsoleConfig = z.infer<typeof ConsoleEnv>;

/**
 * Reads the deployment's configuration from the environment.
 * @throws Error naming every missing or malformed variable (the stacks set them all).
 */
export function readAwsConfig(env: Record<string, string | undefined>): AwsConfig {
  return parseEnv(AwsEnv, env);
}

/** The API function's console settings. @throws Error naming every missing or malformed variable. */
export function readConsoleConfig(env: Record<string, string | undefined>): ConsoleConfig {
  return parseEnv(ConsoleEnv, env);
}

function parseEnv<S extends z.ZodType>(schema: S, env: Record<string, string | undefined>): z.infer<S> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const names = parsed.error.issues.map((i) => `${String(i.path[0])} (${i.message})`);
    throw new Error(`the function's environment is incomplete: ${names.join(", ")}; the stacks (stacks/*.ts) set it`);
  }
  return parsed.data;
}

/**
 * The one way this app makes a Lambda function: a fixed name (`spe-<stage>-<key>`), the handler
 * `functions/<key>.handler`, the full `AwsEnv` environment, its own role with a fixed name (`spe-<stage>-fn-<key>`,
 * which permit key policies name) that starts with nothing but writing its own logs (no AWS managed policy), and
 * its own log group, encrypted with the platform key and expiring.
 * Runtime (nodejs22.x), architecture (arm64), tracing and sourcemaps are app defaults (sst.config.ts).
 */
import { Duration, RemovalPolicy } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as kms from "aws-cdk-lib/aws-kms";
import * as logs from "aws-cdk-lib/aws-logs";
import { Function as SstFunction, type Stack } from "sst/constructs";
import type { FunctionEnvironment } from "./environment";
import { suppress } from "./nag";
import { type FunctionKey, functionName, functionRoleName } from "./names";

export interface SpeFunctionProps {
  /** Which function: its handler is `functions/<key>.handler`, its name `spe-<stage>-<key>`. */
  readonly key: FunctionKey;
  readonly description: string;
  readonly environment: FunctionEnvironment;
  /** Encrypts the function's log group (the platform key). */
  readonly logKey: kms.IKey;
  /** @default Duration.seconds(30) */
  readonly timeout?: Duration;
  /** @default 512 */
  readonly memoryMiB?: number;
}

/** Function logs are operational (the audit trail is elsewhere): three months. */
const LOG_RETENTION = logs.RetentionDays.THREE_MONTHS;

/**
 * A function of this app.
 * @throws Error when the timeout is above Lambda's 15 minutes.
 */
export function speFunction(stack: Stack, id: string, props: SpeFunctionProps): SstFunction {
  const timeout = props.timeout ?? Duration.seconds(30);
  if (timeout.toSeconds() > 900) {
    throw new Error(`timeout of ${props.key} is ${timeout.toHumanString()}: Lambda allows at most 15 minutes`);
  }
  const name = functionName(stack, props.key);
  // Named after the function, as Lambda would name it; DESTROY so that removing and redeploying a stage does not
  // trip over a leftover group of the same name.
  const logGroup = new logs.LogGroup(stack, `${id}Logs`, {
    logGroupName: `/aws/lambda/${name}`,
    encryptionKey: props.logKey,
    retention: LOG_RETENTION,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const role = new iam.Role(stack, `${id}Role`, {
    // Fixed: the per-permit KMS keys, created at runtime, name this role in their key policy (names.ts).
    roleName: functionRoleName(stack, props.key),
    assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
    description: `SPE ${props.key} function`,
  });
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: "OwnLogs",
      actions: ["logs:CreateLogStream", "logs:PutLogEvents"],
      resources: [logGroup.logGroupArn],
    }),
  );
  const fn = new SstFunction(stack, id, {
    handler: `functions/${props.key}.handler`,
    functionName: name,
    description: props.description,
    environment: props.environment,
    role,
    logGroup,
    timeout: timeout.toSeconds(),
    memorySize: props.memoryMiB ?? 512,
  });
  suppress(
    fn,
    "AwsSolutions-L1",
    "nodejs22.x on purpose: the code is written and tested for Node 20 and 22 (engines >=20.6); nodejs24.x " +
      "is adopted after the test suite runs on Node 24",
  );
  return fn;
}

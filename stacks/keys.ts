/**
 * Keys: the platform's customer managed KMS key, which encrypts the controller's own state (the DynamoDB
 * table, buckets by default, logs, queues), and the audit signing key (ECDSA P-256) that signs the hourly
 * seals of the audit chain. Per-permit keys are not here: the key service creates them at runtime, one per
 * permit (alias `alias/spe-<stage>/permit/<P>`, tags `spe:permit` and `spe:stage`), and destroys them at permit close.
 */
import { RemovalPolicy } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import type { StackContext } from "sst/constructs";
import { prefix } from "./lib/names";

export function Keys({ stack }: StackContext) {
  const platformKey = new kms.Key(stack, "PlatformKey", {
    description: `SPE controller ${stack.stage}: platform state and logs`,
    alias: `alias/${prefix(stack)}-platform`,
    enableKeyRotation: true,
    // Everything the platform wrote under this key is unreadable once it is gone: keep it in every stage.
    removalPolicy: RemovalPolicy.RETAIN,
  });
  // CloudWatch Logs encrypts with a key only when the key policy lets the service use it (an IAM grant is not
  // enough); scoped to this account's log groups in this region.
  platformKey.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: "CloudWatchLogsOfThisAccount",
      principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
      actions: ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
      resources: ["*"],
      conditions: {
        ArnLike: {
          "kms:EncryptionContext:aws:logs:arn": `arn:${stack.partition}:logs:${stack.region}:${stack.account}:log-group:*`,
        },
      },
    }),
  );
  // EventBridge itself delivers failed events to a rule's dead-letter queue (encrypted with this key), so the
  // key policy must let it encrypt there; only for this account's queues (SQS's encryption context is the queue ARN).
  platformKey.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: "EventBridgeDeadLetterQueues",
      principals: [new iam.ServicePrincipal("events.amazonaws.com")],
      actions: ["kms:GenerateDataKey", "kms:Decrypt"],
      resources: ["*"],
      conditions: {
        ArnLike: {
          "kms:EncryptionContext:aws:sqs:arn": `arn:${stack.partition}:sqs:${stack.region}:${stack.account}:*`,
        },
      },
    }),
  );

  // Signs the digests of the audit chain (kms:Sign, for the seal function only). Asymmetric KMS keys cannot
  // rotate; a new key would be a new key id, which old seals keep naming.
  const auditKey = new kms.Key(stack, "AuditSigningKey", {
    description: `SPE controller ${stack.stage}: signs audit seals`,
    alias: `alias/${prefix(stack)}-audit-signing`,
    keySpec: kms.KeySpec.ECC_NIST_P256,
    keyUsage: kms.KeyUsage.SIGN_VERIFY,
    // Seals must stay verifiable for as long as the audit archive exists: keep the key in every stage.
    removalPolicy: RemovalPolicy.RETAIN,
  });

  // Per-permit keys carry the tags spe:stage and spe:permit (set through each key's own policy, never IAM), and the
  // task-role boundary admits keys by spe:stage: these two keys refuse such tags from anyone, so neither can ever
  // be mistaken for a permit key.
  for (const key of [platformKey, auditKey]) {
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: "NeverAPermitKey",
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ["kms:TagResource"],
        resources: ["*"],
        conditions: { "ForAnyValue:StringEquals": { "aws:TagKeys": ["spe:stage", "spe:permit"] } },
      }),
    );
  }

  return { platformKey, auditKey } as const;
}

/**
 * Keys: the platform's customer managed KMS key, which encrypts the controller's own state (the DynamoDB
 * table) and logs. Per-permit data keys are not here: they are created at runtime, one per permit.
 */
import { RemovalPolicy } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import type { StackContext } from "sst/constructs";

export function Keys({ stack }: StackContext) {
  const platformKey = new kms.Key(stack, "PlatformKey", {
    description: `SPE controller ${stack.stage}: platform state and logs`,
    alias: `alias/spe-${stack.stage}-platform`,
    enableKeyRotation: true,
    // Everything the platform wrote under this key is unreadable once it is gone: keep it in every stage.
    removalPolicy: RemovalPolicy.RETAIN,
  });
  // CloudWatch Logs encrypts with a key only when the key policy lets the service use it (an IAM grant is not
  // enough); scoped to this account's log groups in this region.
  platformKey.addToResourcePolicy(
    new iam.PolicyStatement({
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
  return { platformKey } as const;
}

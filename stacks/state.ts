/**
 * State: the controller's single DynamoDB table (single-table design: `pk`/`sk`), encrypted with the
 * platform key. Its stream (new images) feeds the audit archive.
 */
import { RemovalPolicy } from "aws-cdk-lib";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import { type StackContext, use } from "sst/constructs";
import { Keys } from "./keys";

export function State({ stack }: StackContext) {
  const { platformKey } = use(Keys);
  // Plain CDK rather than SST's Table: every setting below is explicit and none is an SST default.
  const table = new dynamodb.Table(stack, "Table", {
    partitionKey: { name: "pk", type: dynamodb.AttributeType.STRING },
    sortKey: { name: "sk", type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
    encryptionKey: platformKey,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    stream: dynamodb.StreamViewType.NEW_IMAGE,
    // Permits, workspaces and the audit chain outlive any stack: keep the table in every stage.
    removalPolicy: RemovalPolicy.RETAIN,
  });
  return { table } as const;
}

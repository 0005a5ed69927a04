/**
 * State: the controller's single DynamoDB table (single-table design, keys and indexes from
 * packages/aws/src/table-schema.ts so the deployed table is the one the Store adapter expects), encrypted with
 * the platform key. Its stream (new images) feeds the audit archive.
 */
import { RemovalPolicy } from "aws-cdk-lib";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import { type StackContext, use } from "sst/constructs";
import { TABLE_GSIS, TABLE_KEY, TTL_ATTRIBUTE } from "../packages/aws/src/table-schema";
import { Keys } from "./keys";

const string = (name: string) => ({ name, type: dynamodb.AttributeType.STRING });

export function State({ stack }: StackContext) {
  const { platformKey } = use(Keys);
  // Plain CDK rather than SST's Table: every setting below is explicit and none is an SST default.
  const table = new dynamodb.Table(stack, "Table", {
    partitionKey: string(TABLE_KEY.partition),
    sortKey: string(TABLE_KEY.sort),
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
    encryptionKey: platformKey,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    stream: dynamodb.StreamViewType.NEW_IMAGE,
    // Idempotency records and used download grants expire by themselves; audit items never carry it.
    timeToLiveAttribute: TTL_ATTRIBUTE,
    // Permits, workspaces and the audit chain outlive any stack: keep the table in every stage, and refuse a
    // delete-table call (console, CLI) until someone turns the protection off on purpose.
    deletionProtection: true,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  for (const gsi of TABLE_GSIS) {
    table.addGlobalSecondaryIndex({
      indexName: gsi.name,
      partitionKey: string(gsi.partition),
      sortKey: string(gsi.sort),
      projectionType: dynamodb.ProjectionType.ALL,
    });
  }
  return { table } as const;
}

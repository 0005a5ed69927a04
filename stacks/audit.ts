/**
 * Audit: moving the audit chain out of reach. The chain lives in the table (PITR, stream of new images); the
 * archive-audit function reads the stream (audit records and seals only, filtered before invocation) and writes
 * batches to the Object Lock archive (Storage stack); the seal-audit function signs the chain's head every hour
 * with the audit key (it alone may kms:Sign). A batch that keeps failing goes to an encrypted queue: its records
 * are still in the table, so a gap in the archive can be filled again from there.
 */
import { Duration } from "aws-cdk-lib";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import type * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { type StackContext, use } from "sst/constructs";
import { Keys } from "./keys";
import { speFunction } from "./lib/function";
import { grantArchiveAppend, grantAuditSign, grantQueueSend, grantStore, grantStreamRead } from "./lib/grants-data";
import { deadLetterQueue } from "./lib/queues";
import { useFunctionEnvironment } from "./lib/use-environment";
import { Lifecycle } from "./lifecycle";
import { State } from "./state";
import { Storage } from "./storage";

/**
 * Partition keys of the items the archive takes: audit records and seals (the chain head, which changes with
 * every append, is left out). They mirror AUDIT_PK and SEAL_PK of packages/aws/src/dynamo-items.ts, which the
 * stacks do not import (it is runtime code); test/stacks checks that they agree.
 */
export const ARCHIVED_PARTITIONS = ["audit", "audit#seal"] as const;

export function Audit({ stack }: StackContext) {
  const { platformKey, auditKey } = use(Keys);
  const { table } = use(State);
  const { auditArchive } = use(Storage);
  const environment = useFunctionEnvironment(stack, use(Lifecycle));
  const common = { environment, logKey: platformKey };

  const archive = speFunction(stack, "ArchiveAudit", {
    ...common,
    key: "archive-audit",
    description: "SPE: archive audit records and seals to the Object Lock bucket",
    timeout: Duration.minutes(1),
  });
  grantArchiveAppend(archive, auditArchive, platformKey);
  grantStreamRead(archive, table, platformKey);
  const archiveFailures = deadLetterQueue(stack, "ArchiveDeadLetters", platformKey);
  grantQueueSend(archive, archiveFailures.queueArn, platformKey);
  // A plain event source mapping rather than DynamoEventSource, whose automatic grants (stream read, and
  // Encrypt/ReEncrypt on the whole platform key for the queue) are broader than the ones above.
  const fromStream = new lambda.EventSourceMapping(stack, "ArchiveFromStream", {
    target: archive,
    eventSourceArn: table.tableStreamArn,
    startingPosition: lambda.StartingPosition.TRIM_HORIZON,
    // Records are written once and in order: insertions, never the head's updates. An update or deletion of
    // a record or seal is tampering (they are append-only): it is archived as evidence too.
    filters: [
      lambda.FilterCriteria.filter({
        eventName: lambda.FilterRule.isEqual("INSERT"),
        dynamodb: { NewImage: { pk: { S: lambda.FilterRule.or(...ARCHIVED_PARTITIONS) } } },
      }),
      lambda.FilterCriteria.filter({
        eventName: lambda.FilterRule.or("MODIFY", "REMOVE"),
        dynamodb: { Keys: { pk: { S: lambda.FilterRule.or(...ARCHIVED_PARTITIONS) } } },
      }),
    ],
    batchSize: 100,
    maxBatchingWindow: Duration.seconds(30),
    // One batch per shard at a time, in order: batches follow the chain.
    parallelizationFactor: 1,
    bisectBatchOnError: true,
    reportBatchItemFailures: true,
    retryAttempts: 10,
    // The stream keeps records for 24 hours; after that only the table has them.
    maxRecordAge: Duration.hours(24),
    // Lambda sends the failed batch's description (shard, sequence numbers: no record content) as the function.
    onFailure: { bind: () => ({ destination: archiveFailures.queueArn }) },
  });
  // Lambda checks the role's stream permissions when the mapping is created: create the policy first.
  fromStream.node.addDependency(archive.role as iam.IRole);

  const seal = speFunction(stack, "SealAudit", {
    ...common,
    key: "seal-audit",
    description: "SPE: sign the audit chain's head (hourly seal)",
    timeout: Duration.minutes(2),
  });
  // Reads the chain and appends the seal (a conditional put), then signs: store access and kms:Sign only.
  grantStore(seal, table, platformKey);
  grantAuditSign(seal, auditKey);
  new events.Rule(stack, "SealSchedule", {
    description: "SPE: seal the audit chain every hour, on the hour",
    schedule: events.Schedule.cron({ minute: "0" }),
    targets: [new targets.LambdaFunction(seal, { retryAttempts: 2, maxEventAge: Duration.minutes(30) })],
  });

  return { archive, archiveFailures, seal } as const;
}

/**
 * Dead-letter queues: where failed deliveries wait for an operator instead of vanishing. Encrypted with the
 * platform key, TLS only, kept for SQS's maximum of 14 days, and alarmed: a message there is a gap (in the
 * audit archive, in job endings) that someone must look at within those 14 days.
 */
import { Duration } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import type * as kms from "aws-cdk-lib/aws-kms";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { NagSuppressions } from "cdk-nag";
import type { Construct } from "constructs";

/** An encrypted dead-letter queue (it is itself the end of the line: no queue behind it). */
export function deadLetterQueue(scope: Construct, id: string, key: kms.IKey): sqs.Queue {
  const queue = new sqs.Queue(scope, id, {
    encryption: sqs.QueueEncryption.KMS,
    encryptionMasterKey: key,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  new cloudwatch.Alarm(scope, `${id}Alarm`, {
    alarmDescription: `SPE: ${id} holds failed deliveries; inspect and redrive them before SQS drops them (14 days)`,
    metric: queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: "Maximum" }),
    threshold: 1,
    evaluationPeriods: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  NagSuppressions.addResourceSuppressions(queue, [
    {
      id: "AwsSolutions-SQS3",
      reason: "this queue is a dead-letter destination (of an event rule or an event source mapping), not a work queue",
    },
  ]);
  return queue;
}

/** The CloudWatch Logs client of the task-events function (only it reads job logs, so only it bundles this). */
import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";

export const logsClient = (): CloudWatchLogsClient => new CloudWatchLogsClient({});

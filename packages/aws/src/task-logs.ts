/**
 * A job task's log stream in CloudWatch Logs (awslogs driver: `<streamPrefix>/<containerName>/<taskId>`):
 * reading it back in order, and deleting it once the job's output is stored encrypted under the permit key
 * (the plaintext copy in CloudWatch must not outlive the permit's data).
 */
import {
  type CloudWatchLogsClient,
  DeleteLogStreamCommand,
  GetLogEventsCommand,
  type GetLogEventsCommandOutput,
  ResourceNotFoundException,
} from "@aws-sdk/client-cloudwatch-logs";
import { type RetryOptions, retrying } from "./runtime-retry";

/** Pages read at most (1 MB each): the agent bounds what a job writes to the log to a few MiB. */
const MAX_PAGES = 200;

export interface TaskLogOptions {
  logs: CloudWatchLogsClient;
  logGroup: string;
  /** The awslogs `streamPrefix` of the workspace task definition. */
  streamPrefix: string;
  containerName: string;
  retry?: RetryOptions;
}

/** `arn:aws:ecs:eu-west-1:1234:task/cluster/abc123` → `abc123`. */
export const taskIdOf = (taskArn: string) => taskArn.slice(taskArn.lastIndexOf("/") + 1);

export const logStreamName = (o: Pick<TaskLogOptions, "streamPrefix" | "containerName">, taskArn: string) =>
  `${o.streamPrefix}/${o.containerName}/${taskIdOf(taskArn)}`;

/**
 * Every message of the stream, oldest first; null when the stream does not exist (the task never ran).
 * GetLogEvents pages forward until the token it returns is the one it was given.
 */
export async function readLogLines(o: TaskLogOptions, streamName: string): Promise<string[] | null> {
  const lines: string[] = [];
  let token: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    let res: GetLogEventsCommandOutput;
    try {
      res = await retrying(
        "reading the job's log",
        () =>
          o.logs.send(
            new GetLogEventsCommand({
              logGroupName: o.logGroup,
              logStreamName: streamName,
              startFromHead: true,
              ...(token ? { nextToken: token } : {}),
            }),
          ),
        o.retry,
      );
    } catch (err) {
      if (err instanceof ResourceNotFoundException) return null;
      throw err;
    }
    for (const e of res.events ?? []) if (typeof e.message === "string") lines.push(e.message);
    if (!res.nextForwardToken || res.nextForwardToken === token) return lines;
    token = res.nextForwardToken;
  }
  lines.push(`spe| {"event":"note","message":"log read stopped after ${MAX_PAGES} pages"}`);
  return lines;
}

/**
 * Deletes the job's log stream. Call it after `Job.finish` stored the output encrypted. Idempotent.
 * @example await deleteJobLogStream(opts, end.logStreamName)
 */
export async function deleteJobLogStream(o: TaskLogOptions, streamName: string): Promise<void> {
  try {
    await retrying(
      "deleting the job's log",
      () => o.logs.send(new DeleteLogStreamCommand({ logGroupName: o.logGroup, logStreamName: streamName })),
      o.retry,
    );
  } catch (err) {
    if (!(err instanceof ResourceNotFoundException)) throw err;
  }
}

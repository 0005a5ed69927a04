/**
 * An in-memory CloudWatch Logs behind aws-sdk-client-mock, for the job logs of workspace tasks: streams of
 * one log group holding the lines a task's container wrote (awslogs), read with GetLogEvents (forward
 * pages; the last page answers the token it was given, as CloudWatch does) and deleted with
 * DeleteLogStream; ResourceNotFoundException for a stream that is not there. Faults (faults.ts) inject
 * throttling or any error at any call.
 */
import {
  CloudWatchLogsClient,
  CloudWatchLogsServiceException,
  DeleteLogStreamCommand,
  GetLogEventsCommand,
  ResourceNotFoundException,
  ThrottlingException,
} from "@aws-sdk/client-cloudwatch-logs";
import { mockClient } from "aws-sdk-client-mock";
import { Faults } from "./faults";

/** CloudWatch Logs' throttling answer. */
export const logsThrottling = () =>
  new ThrottlingException({ message: "Rate exceeded", $metadata: { httpStatusCode: 400 } });

/** Its answer to a caller without logs:* on the group. */
export const logsAccessDenied = () =>
  new CloudWatchLogsServiceException({
    name: "AccessDeniedException",
    $fault: "client",
    $metadata: { httpStatusCode: 400 },
    message: "User is not authorized to perform this action",
  });

export class FakeLogs {
  readonly client = new CloudWatchLogsClient({
    region: "eu-central-1",
    credentials: { accessKeyId: "AKIAFAKEFAKEFAKE", secretAccessKey: "fake" },
  });
  readonly mock = mockClient(this.client);
  readonly faults = new Faults();
  /** Stream name → its messages, oldest first. */
  readonly streams = new Map<string, string[]>();
  /** Events per GetLogEvents page. */
  pageSize = 100;

  constructor(readonly logGroup: string) {
    const m = this.mock;
    const notFound = (what: string) =>
      new ResourceNotFoundException({ message: `The specified ${what} does not exist.`, $metadata: {} });
    m.onAnyCommand().callsFake((input: unknown) => {
      throw new Error(`FakeLogs does not implement this command (${JSON.stringify(input)})`);
    });
    m.on(GetLogEventsCommand).callsFake((i) =>
      this.faults.run("GetLogEvents", i, () => {
        if (i.logGroupName !== this.logGroup) throw notFound("log group");
        const lines = this.streams.get(i.logStreamName ?? "");
        if (!lines) throw notFound("log stream");
        const from = i.nextToken ? Number(i.nextToken.slice(2)) : 0;
        const page = lines.slice(from, from + this.pageSize);
        return {
          events: page.map((message, n) => ({ timestamp: 1_772_359_200_000 + from + n, message })),
          nextForwardToken: `f/${from + page.length}`,
          nextBackwardToken: `b/${from}`,
        };
      }),
    );
    m.on(DeleteLogStreamCommand).callsFake((i) =>
      this.faults.run("DeleteLogStream", i, () => {
        if (i.logGroupName !== this.logGroup) throw notFound("log group");
        if (!this.streams.delete(i.logStreamName ?? "")) throw notFound("log stream");
        return {};
      }),
    );
  }

  /** A copy of every stream, for `restore`. */
  snapshot(): Map<string, string[]> {
    return new Map([...this.streams].map(([name, lines]) => [name, [...lines]]));
  }

  restore(s: Map<string, string[]>): void {
    this.streams.clear();
    for (const [name, lines] of s) this.streams.set(name, [...lines]);
  }

  /** The container writes lines to its stream (awslogs creates the stream on first write). */
  write(stream: string, lines: readonly string[]): void {
    this.streams.set(stream, [...(this.streams.get(stream) ?? []), ...lines]);
  }
}

import {
  CloudWatchLogsClient,
  DeleteLogStreamCommand,
  GetLogEventsCommand,
  ResourceNotFoundException,
  ThrottlingException,
} from "@aws-sdk/client-cloudwatch-logs";
import { mockClient } from "aws-sdk-client-mock";
import { describe, expect, it } from "vitest";
import { agentLine } from "./agent/framing";
import type { EndRecord } from "./agent/protocol";
import { STOP_REASON } from "./ecs-tasks";
import { deleteJobLogStream, jobEndFromTaskEvent, type TaskEventOptions } from "./task-events";
import { Faults } from "./testing/faults";

const CLUSTER = "arn:aws:ecs:eu-central-1:123456789012:cluster/spe-test";
const TASK_ID = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";
const TASK_ARN = `arn:aws:ecs:eu-central-1:123456789012:task/spe-test/${TASK_ID}`;
const STREAM = `workspace/workspace/${TASK_ID}`;
const W = "ws-01abc";
const JOB = "job-01xyz";

type Detail = Record<string, unknown>;

/** An "ECS Task State Change" event as EventBridge delivers it (fields as documented by ECS). */
function taskEvent(detail: Detail = {}, container: Record<string, unknown> = {}) {
  const containerArn = `arn:aws:ecs:eu-central-1:123456789012:container/spe-test/${TASK_ID}/5d2c7a8e`;
  return {
    version: "0",
    id: "3317b2af-7005-947d-b652-f55e762e571a",
    "detail-type": "ECS Task State Change",
    source: "aws.ecs",
    account: "123456789012",
    time: "2026-03-01T10:06:10Z",
    region: "eu-central-1",
    resources: [TASK_ARN],
    detail: {
      attachments: [
        { id: "a1", type: "eni", status: "DELETED", details: [{ name: "subnetId", value: "subnet-0aa1" }] },
      ],
      availabilityZone: "eu-central-1a",
      clusterArn: CLUSTER,
      containers: [
        {
          containerArn,
          exitCode: 0,
          lastStatus: "STOPPED",
          name: "workspace",
          image: "123456789012.dkr.ecr.eu-central-1.amazonaws.com/spe-workspace:1.0.0",
          runtimeId: `${TASK_ID}-1234567890`,
          taskArn: TASK_ARN,
          cpu: "0",
          ...container,
        },
      ],
      cpu: "2048",
      memory: "5120",
      createdAt: "2026-03-01T10:00:00.000Z",
      desiredStatus: "STOPPED",
      enableExecuteCommand: false,
      executionStoppedAt: "2026-03-01T10:06:00.000Z",
      group: "family:spe-test-workspace",
      launchType: "FARGATE",
      lastStatus: "STOPPED",
      overrides: {
        containerOverrides: [
          {
            name: "workspace",
            command: ["run-job"],
            environment: [
              { name: "SPE_BUCKET", value: "spe-test-workspaces" },
              { name: "SPE_JOB_ID", value: JOB },
            ],
          },
        ],
        cpu: "2048",
        memory: "5120",
        taskRoleArn: "arn:aws:iam::123456789012:role/spe/test/spe-test-permit-p-onc",
      },
      platformVersion: "1.4.0",
      pullStartedAt: "2026-03-01T10:00:20.000Z",
      pullStoppedAt: "2026-03-01T10:00:40.000Z",
      startedAt: "2026-03-01T10:00:45.000Z",
      startedBy: W,
      stopCode: "EssentialContainerExited",
      stoppedAt: "2026-03-01T10:06:05.000Z",
      stoppedReason: "Essential container in task exited",
      stoppingAt: "2026-03-01T10:06:01.000Z",
      taskArn: TASK_ARN,
      taskDefinitionArn: "arn:aws:ecs:eu-central-1:123456789012:task-definition/spe-test-workspace:3",
      updatedAt: "2026-03-01T10:06:05.000Z",
      version: 6,
      ...detail,
    },
  };
}

const end = (over: Partial<EndRecord> = {}): string =>
  agentLine({
    event: "end",
    outcome: "succeeded",
    exitCode: 0,
    signal: null,
    startedAt: "2026-03-01T10:01:00.000Z",
    finishedAt: "2026-03-01T10:05:30.000Z",
    ...over,
  });

/** CloudWatch Logs with one log group: paginated GetLogEvents, a stream that may fill in late. */
class FakeLogs {
  readonly client = new CloudWatchLogsClient({
    region: "eu-central-1",
    credentials: { accessKeyId: "AKIAFAKE", secretAccessKey: "fake" },
  });
  readonly faults = new Faults();
  readonly streams = new Map<string, string[]>();
  /** Events of a stream visible on the n-th read (CloudWatch lags the task's STOPPED event). */
  visible: ((read: number, all: string[]) => string[]) | null = null;
  pageSize = 3;
  private reads = 0;

  constructor() {
    const m = mockClient(this.client);
    m.on(GetLogEventsCommand).callsFake((i: GetLogEventsCommand["input"]) =>
      this.faults.run("GetLogEvents", i, () => {
        const all = this.streams.get(i.logStreamName!);
        if (!all || i.logGroupName !== "/spe/test/workspaces") {
          throw new ResourceNotFoundException({ message: "The specified log stream does not exist.", $metadata: {} });
        }
        if (!i.nextToken) this.reads++;
        const events = this.visible ? this.visible(this.reads, all) : all;
        const from = i.nextToken ? Number(i.nextToken.slice(2)) : 0;
        const page = events.slice(from, from + this.pageSize);
        return {
          events: page.map((message, n) => ({ timestamp: 1_770_000_000_000 + from + n, message })),
          nextForwardToken: `f/${from + page.length}`,
          nextBackwardToken: `b/${from}`,
        };
      }),
    );
    m.on(DeleteLogStreamCommand).callsFake((i: DeleteLogStreamCommand["input"]) =>
      this.faults.run("DeleteLogStream", i, () => {
        if (!this.streams.delete(i.logStreamName!)) {
          throw new ResourceNotFoundException({ message: "The specified log stream does not exist.", $metadata: {} });
        }
        return {};
      }),
    );
  }
}

function setup(lines?: string[]) {
  const logs = new FakeLogs();
  if (lines) logs.streams.set(STREAM, lines);
  const sleeps: number[] = [];
  const opts: TaskEventOptions = {
    logs: logs.client,
    logGroup: "/spe/test/workspaces",
    streamPrefix: "workspace",
    containerName: "workspace",
    clusterArn: CLUSTER,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    retry: { sleep: async () => {} },
  };
  return { logs, opts, sleeps };
}

describe("jobEndFromTaskEvent", () => {
  it("maps a task whose job succeeded, with its stdout and stderr apart and the agent's times", async () => {
    const { opts } = setup([
      'spe| {"event":"start","jobId":"job-01xyz"}',
      "out| n=1204",
      "err| warning: 3 rows dropped",
      "out| mean=41.2",
      end(),
    ]);
    expect(await jobEndFromTaskEvent(taskEvent(), opts)).toEqual({
      workspaceId: W,
      jobId: JOB,
      taskArn: TASK_ARN,
      logStreamName: STREAM,
      result: {
        outcome: "succeeded",
        exitCode: 0,
        stdout: "n=1204\nmean=41.2\n",
        stderr: "warning: 3 rows dropped\n",
        startedAt: "2026-03-01T10:01:00.000Z",
        finishedAt: "2026-03-01T10:05:30.000Z",
      },
    });
  });

  it("maps a job that exited non-zero to failed with the job's own exit code", async () => {
    const { opts } = setup(["err| Traceback ...", end({ outcome: "failed", exitCode: 3 })]);
    const r = (await jobEndFromTaskEvent(taskEvent({}, { exitCode: 1 }), opts))!.result;
    expect(r).toMatchObject({ outcome: "failed", exitCode: 3, stderr: "Traceback ...\n" });
    expect(r.reason).toBeUndefined();
  });

  it("maps the agent's timeout to timed_out", async () => {
    const { opts } = setup([
      end({ outcome: "timed_out", exitCode: null, signal: "SIGKILL", reason: "killed at its timeout of 600000 ms" }),
    ]);
    const r = (await jobEndFromTaskEvent(taskEvent({}, { exitCode: 124 }), opts))!.result;
    expect(r).toMatchObject({ outcome: "timed_out", exitCode: null, reason: "killed at its timeout of 600000 ms" });
  });

  it("maps an exceeded outputs quota to failed with the agent's reason", async () => {
    const reason = "outputs/ grew past its quota of 1073741824 bytes; outputs/ was not saved";
    const { opts } = setup([end({ outcome: "quota_exceeded", exitCode: null, signal: "SIGKILL", reason })]);
    const r = (await jobEndFromTaskEvent(taskEvent({}, { exitCode: 122 }), opts))!.result;
    expect(r).toMatchObject({ outcome: "failed", reason });
  });

  it("maps a task the controller stopped to cancelled", async () => {
    const { opts } = setup(["out| partial", end({ outcome: "cancelled", exitCode: null, signal: "SIGKILL" })]);
    const ev = taskEvent({ stopCode: "UserInitiated", stoppedReason: STOP_REASON }, { exitCode: 130 });
    const r = (await jobEndFromTaskEvent(ev, opts))!.result;
    expect(r).toMatchObject({ outcome: "cancelled", reason: "cancelled", stdout: "partial\n" });
  });

  it("maps a task someone stopped in the console to cancelled, saying so", async () => {
    const { opts } = setup([]);
    const ev = taskEvent({ stopCode: "UserInitiated", stoppedReason: "Task stopped by user" }, { exitCode: null });
    const r = (await jobEndFromTaskEvent(ev, opts))!.result;
    expect(r).toMatchObject({ outcome: "cancelled", reason: "stopped: Task stopped by user" });
  });

  it("maps a task AWS stopped (Fargate maintenance) to failed, naming the stop code", async () => {
    const { opts } = setup([end({ outcome: "cancelled", exitCode: null, signal: "SIGKILL" })]);
    const ev = taskEvent(
      { stopCode: "TerminationNotice", stoppedReason: "Your Spot Task was interrupted." },
      { exitCode: 130 },
    );
    const r = (await jobEndFromTaskEvent(ev, opts))!.result;
    expect(r).toMatchObject({ outcome: "failed" });
    expect(r.reason).toBe("AWS stopped the job's task (TerminationNotice): Your Spot Task was interrupted.");
  });

  it.each([
    [
      "an image that cannot be pulled",
      "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref 123456789012.dkr.ecr.eu-central-1.amazonaws.com/spe-workspace:9: not found",
    ],
    [
      "secrets or registry auth that cannot be fetched",
      "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve ecr registry auth",
    ],
  ])("maps a task that never started (%s) to failed with a reason naming it, reading no log", async (_n, why) => {
    const { opts, logs } = setup();
    const ev = taskEvent(
      { stopCode: "TaskFailedToStart", stoppedReason: why, startedAt: undefined, executionStoppedAt: undefined },
      { exitCode: undefined, reason: why, lastStatus: "STOPPED" },
    );
    const r = (await jobEndFromTaskEvent(ev, opts))!.result;
    expect(r.outcome).toBe("failed");
    expect(r.exitCode).toBeNull();
    expect(r.reason).toMatch(/^the job's task could not start: (CannotPullContainerError|ResourceInitializationError)/);
    expect(r).toMatchObject({ stdout: "", stderr: "", startedAt: "2026-03-01T10:00:00.000Z" });
    expect(logs.faults.count("GetLogEvents")).toBe(0);
  });

  it("keeps account ids and ARNs out of reasons", async () => {
    const { opts } = setup();
    const why = "CannotStartContainerError: arn:aws:ecs:eu-central-1:123456789012:task/x failed\n(details)";
    const ev = taskEvent(
      { stopCode: "TaskFailedToStart", stoppedReason: why },
      { exitCode: undefined, reason: undefined },
    );
    const r = (await jobEndFromTaskEvent(ev, opts))!.result;
    expect(r.reason).toBe("the job's task could not start: CannotStartContainerError: <arn> failed (details)");
  });

  it("maps a task killed for memory (no end record) to failed, ran out of memory", async () => {
    const { opts } = setup(["out| loading"]);
    const ev = taskEvent({}, { exitCode: 137, reason: "OutOfMemoryError: Container killed due to memory usage" });
    const r = (await jobEndFromTaskEvent(ev, opts))!.result;
    expect(r).toMatchObject({
      outcome: "failed",
      exitCode: null,
      reason: "the job's task ran out of memory and was killed",
    });
    expect(r.stdout).toBe("loading\n");
  });

  it("waits for a log that lags the STOPPED event, and uses the end record once it shows", async () => {
    const { opts, logs, sleeps } = setup([
      "out| a",
      "out| b",
      "out| c",
      "out| d",
      end({ outcome: "failed", exitCode: 2 }),
    ]);
    logs.visible = (read, all) => (read < 3 ? all.slice(0, 2) : all);
    const r = (await jobEndFromTaskEvent(taskEvent({}, { exitCode: 1 }), opts))!.result;
    expect(r).toMatchObject({ outcome: "failed", exitCode: 2, stdout: "a\nb\nc\nd\n" });
    expect(sleeps).toEqual([3000, 3000]);
  });

  it("falls back to the agent's exit code when the end record never shows", async () => {
    const { opts, sleeps } = setup(["out| a"]);
    const r = (await jobEndFromTaskEvent(taskEvent({}, { exitCode: 124 }), { ...opts, logAttempts: 2 }))!.result;
    expect(r).toMatchObject({ outcome: "timed_out", exitCode: null, stdout: "a\n" });
    expect(r.finishedAt).toBe("2026-03-01T10:06:00.000Z"); // ECS's executionStoppedAt
    expect(sleeps).toHaveLength(1);
  });

  it("reads an empty result when the stream does not exist, and retries throttled reads", async () => {
    const { opts, logs } = setup();
    logs.faults.fail("GetLogEvents", () => new ThrottlingException({ message: "Rate exceeded", $metadata: {} }), {
      times: 2,
    });
    const r = (await jobEndFromTaskEvent(taskEvent({}, { exitCode: 7 }), { ...opts, logAttempts: 1 }))!.result;
    expect(r).toMatchObject({ outcome: "failed", stdout: "", stderr: "" });
    expect(r.reason).toBe("the job's task ended with exit code 7: Essential container in task exited");
    expect(logs.faults.count("GetLogEvents")).toBe(3);
  });

  it.each([
    ["a task still running", taskEvent({ lastStatus: "RUNNING", desiredStatus: "RUNNING" })],
    ["a task of a service", taskEvent({ startedBy: "ecs-svc/1234567890123456789" })],
    ["a task without a job id", taskEvent({ overrides: { containerOverrides: [{ name: "workspace" }] } })],
    ["a task of another cluster", taskEvent({ clusterArn: "arn:aws:ecs:eu-central-1:123456789012:cluster/other" })],
    ["another event type", { ...taskEvent(), "detail-type": "ECS Container Instance State Change" }],
    ["garbage", { hello: "world" }],
  ])("ignores %s (null, no log read)", async (_n, ev) => {
    const { opts, logs } = setup([end()]);
    expect(await jobEndFromTaskEvent(ev, opts)).toBeNull();
    expect(logs.faults.count("GetLogEvents")).toBe(0);
  });
});

describe("deleteJobLogStream", () => {
  it("deletes the plaintext log stream, and is idempotent", async () => {
    const { opts, logs } = setup([end()]);
    await deleteJobLogStream(opts, STREAM);
    expect(logs.streams.has(STREAM)).toBe(false);
    await deleteJobLogStream(opts, STREAM);
    expect(logs.faults.count("DeleteLogStream")).toBe(2);
  });

  it("surfaces an error other than a missing stream", async () => {
    const { opts, logs } = setup([end()]);
    logs.faults.fail("DeleteLogStream", () => new Error("AccessDeniedException"));
    await expect(deleteJobLogStream(opts, STREAM)).rejects.toThrow("AccessDenied");
    expect(logs.streams.has(STREAM)).toBe(true);
  });
});

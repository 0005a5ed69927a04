/**
 * Playing ECS's part for a job's task: the container runs the agent (runAgent, exactly as the image's
 * entrypoint does, from the environment RunTask gave it, against a temporary /workspace and the fake S3),
 * its stdout lines go to the task's CloudWatch Logs stream (awslogs), the task stops, and EventBridge
 * delivers the "ECS Task State Change" event to the task-events function, whose logic is replayed here
 * (functions/task-events.ts: jobEndFromTaskEvent, Job.finish, deleteJobLogStream).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Job } from "@spe/core";
import { runAgent } from "../../../packages/aws/src/agent/agent";
import { readAgentConfig } from "../../../packages/aws/src/agent/config";
import { agentLine } from "../../../packages/aws/src/agent/framing";
import { AGENT_COMMAND, AGENT_EXIT, type EndRecord } from "../../../packages/aws/src/agent/protocol";
import { deleteJobLogStream, jobEndFromTaskEvent, logStreamName } from "../../../packages/aws/src/task-events";
import type { FakeTask } from "../../../packages/aws/src/testing/fake-ecs";
import type { AwsWorld } from "./world";

/** A uid nothing else here uses: the agent kills every process of the job's user when the job ends. */
export const JOB_UID = 62_000 + (process.pid % 1000);

export const jobOfTask = (t: FakeTask) => t.tags.find((x) => x.key === "spe:job")?.value ?? "";

/** The tasks ECS still runs (RunTask started them; they have not stopped). */
export const runningTasks = (w: AwsWorld) => [...w.ecs.tasks.values()].filter((t) => t.desiredStatus === "RUNNING");

function containerEnv(t: FakeTask): Record<string, string> {
  const env: Record<string, string> = {};
  for (const o of t.input.overrides?.containerOverrides ?? []) {
    for (const e of o.environment ?? []) if (e.name) env[e.name] = e.value ?? "";
  }
  return env;
}

/**
 * Runs the task's container: the agent with the task's environment and argv.
 * @returns the container's exit code and its stdout lines.
 */
export async function runContainer(
  w: AwsWorld,
  t: FakeTask,
  o: { asJobUser?: boolean } = {},
): Promise<{ exitCode: number; lines: string[] }> {
  const argv = t.input.overrides?.containerOverrides?.[0]?.command ?? [];
  const cfg = readAgentConfig(containerEnv(t), [...argv]);
  if (argv.join(" ") !== AGENT_COMMAND.join(" ")) throw new Error("the task does not run the agent");
  const base = mkdtempSync(join(tmpdir(), "spe-aws-task-"));
  const lines: string[] = [];
  try {
    const exitCode = await runAgent(cfg, {
      s3: w.s3.client,
      root: join(base, "workspace"),
      ...(o.asJobUser ? { owner: { uid: JOB_UID, gid: JOB_UID } } : {}),
      emit: (line) => lines.push(line),
      cancel: new AbortController().signal,
    });
    return { exitCode, lines };
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

/** Stops the task as ECS does when its essential container exits, and writes its log stream. */
export function stopTask(w: AwsWorld, t: FakeTask, exitCode: number | null, lines: string[]): unknown {
  const stoppedByUs = t.desiredStatus === "STOPPED" && t.stoppedReason !== undefined;
  t.desiredStatus = "STOPPED";
  t.lastStatus = "STOPPED";
  t.exitCode = exitCode;
  if (lines.length > 0) w.logs.write(logStreamName(w.a.taskLogs, t.taskArn), lines);
  const at = w.clock.now().toISOString();
  return {
    version: "0",
    id: `event-${jobOfTask(t)}`,
    "detail-type": "ECS Task State Change",
    source: "aws.ecs",
    account: "111122223333",
    time: at,
    region: "eu-central-1",
    resources: [t.taskArn],
    detail: {
      clusterArn: w.config.SPE_CLUSTER_ARN,
      taskArn: t.taskArn,
      lastStatus: "STOPPED",
      desiredStatus: "STOPPED",
      startedBy: t.startedBy,
      stopCode: stoppedByUs ? "UserInitiated" : "EssentialContainerExited",
      stoppedReason: stoppedByUs ? t.stoppedReason : "Essential container in task exited",
      createdAt: at,
      startedAt: at,
      stoppedAt: at,
      containers: [{ name: w.config.SPE_CONTAINER_NAME, exitCode, lastStatus: "STOPPED" }],
      overrides: t.input.overrides,
      launchType: "FARGATE",
    },
  };
}

/** The task-events function's logic (functions/task-events.ts), over this world. */
export async function taskEventsHandler(w: AwsWorld, event: unknown): Promise<{ jobId: string | null }> {
  const logs = w.taskLogs;
  const end = await jobEndFromTaskEvent(event, {
    ...logs,
    clusterArn: w.config.SPE_CLUSTER_ARN,
    sleep: async () => {},
  });
  if (!end) return { jobId: null };
  const job = await Job.finish(w.deps, end.workspaceId, end.jobId, end.result);
  if (job) await deleteJobLogStream(logs, end.logStreamName);
  return { jobId: end.jobId };
}

/**
 * The tasks the controller stopped (StopTask) end: the agent, cancelled, exits 130 after its `end` record,
 * and their STOPPED events are delivered.
 */
export async function deliverStopped(w: AwsWorld): Promise<void> {
  for (const t of w.ecs.tasks.values()) {
    if (t.desiredStatus !== "STOPPED" || t.exitCode !== undefined) continue;
    const at = w.clock.now().toISOString();
    const end: EndRecord = {
      event: "end",
      outcome: "cancelled",
      exitCode: null,
      signal: "SIGKILL",
      startedAt: at,
      finishedAt: at,
    };
    await taskEventsHandler(w, stopTask(w, t, AGENT_EXIT.cancelled, [agentLine(end)]));
  }
}

/** Runs every running task to its end and delivers each STOPPED event. @returns the jobs that ended. */
export async function runAllTasks(w: AwsWorld, o: { asJobUser?: boolean } = {}): Promise<string[]> {
  const ended: string[] = [];
  for (const t of runningTasks(w)) {
    const { exitCode, lines } = await runContainer(w, t, o);
    await taskEventsHandler(w, stopTask(w, t, exitCode, lines));
    ended.push(jobOfTask(t));
  }
  return ended;
}

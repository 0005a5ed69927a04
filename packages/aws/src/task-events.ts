/**
 * From an EventBridge "ECS Task State Change" event to the end of a job: which workspace and job the
 * stopped task ran, how it ended, and its stdout and stderr read back from the task's log (see
 * agent/framing.ts for how they are told apart). The agent's `end` record in the log is authoritative;
 * the container's exit code (the agent's verdict, agent/protocol.ts AGENT_EXIT) and ECS's stop code are
 * used when the record is missing. Pure apart from reading the log.
 */
import type { JobResult } from "@spe/core";
import { z } from "zod";
import { decodeLog } from "./agent/framing";
import { AGENT_ENV, AGENT_EXIT, type EndRecord } from "./agent/protocol";
import { STOP_REASON } from "./ecs-tasks";
import { realSleep } from "./runtime-retry";
import { logStreamName, readLogLines, type TaskLogOptions } from "./task-logs";

export { deleteJobLogStream, logStreamName, type TaskLogOptions } from "./task-logs";

const Container = z.looseObject({
  name: z.string(),
  exitCode: z.number().int().nullish(),
  reason: z.string().nullish(),
  lastStatus: z.string().nullish(),
});

const Detail = z.looseObject({
  clusterArn: z.string().optional(),
  taskArn: z.string().startsWith("arn:"),
  lastStatus: z.string(),
  startedBy: z.string().optional(),
  stopCode: z.string().optional(),
  stoppedReason: z.string().optional(),
  createdAt: z.string().optional(),
  startedAt: z.string().optional(),
  stoppedAt: z.string().optional(),
  executionStoppedAt: z.string().optional(),
  containers: z.array(Container).default([]),
  overrides: z
    .looseObject({
      containerOverrides: z
        .array(
          z.looseObject({
            name: z.string().optional(),
            environment: z
              .array(z.looseObject({ name: z.string().optional(), value: z.string().optional() }))
              .optional(),
          }),
        )
        .default([]),
    })
    .optional(),
});

const TaskStateChange = z.looseObject({
  source: z.literal("aws.ecs"),
  "detail-type": z.literal("ECS Task State Change"),
  time: z.string().optional(),
  detail: Detail,
});

export type TaskDetail = z.infer<typeof Detail>;

export interface TaskEventOptions extends TaskLogOptions {
  /** Only events of this cluster are ours. @default any (the EventBridge rule filters the cluster) */
  clusterArn?: string;
  /** Reads of the log when the agent's `end` record is not there yet (CloudWatch is eventually consistent). @default 4 */
  logAttempts?: number;
  /** @default 3000 */
  logRetryMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

export interface JobEnd {
  workspaceId: string;
  jobId: string;
  result: JobResult;
  taskArn: string;
  /** For deleteJobLogStream, once the output is stored. */
  logStreamName: string;
}

const WORKSPACE_ID = /^ws-[0-9a-z]{1,64}$/;
const JOB_ID = /^job-[0-9a-z]{1,64}$/;
/** Exit codes only the agent produces, always after writing its `end` record. */
const AGENT_CODES = new Set<number>(Object.values(AGENT_EXIT));

/** AWS's own words for the job's reason: no ARNs (account ids), no control characters, bounded. */
export function cleanReason(text: string | null | undefined): string {
  const t = (text ?? "")
    .replace(/arn:[^\s"',)]+/g, "<arn>")
    .replace(/[\u0000-\u001f\u007f]+/g, " ")
    .trim();
  return (t || "no reason given").slice(0, 300);
}

const iso = (...candidates: (string | undefined)[]): string => {
  for (const c of candidates) if (c && !Number.isNaN(Date.parse(c))) return new Date(c).toISOString();
  return new Date(0).toISOString();
};

type Outcome = Pick<JobResult, "outcome" | "exitCode" | "reason">;

/** How a stopped task's job ended, from ECS's view and the agent's `end` record (if any). Pure. */
export function outcomeOf(d: TaskDetail, containerName: string, end: EndRecord | null): Outcome {
  const c = d.containers.find((x) => x.name === containerName);
  const stoppedByUs = d.stopCode === "UserInitiated";
  const stopWhy =
    stoppedByUs && d.stoppedReason === STOP_REASON ? "cancelled" : `stopped: ${cleanReason(d.stoppedReason)}`;
  if (end) {
    const reason = end.reason ? { reason: end.reason } : {};
    switch (end.outcome) {
      case "succeeded":
        return { outcome: "succeeded", exitCode: end.exitCode };
      case "timed_out":
        return { outcome: "timed_out", exitCode: end.exitCode, ...reason };
      case "cancelled":
        return stoppedByUs
          ? { outcome: "cancelled", exitCode: end.exitCode, reason: stopWhy }
          : {
              outcome: "failed",
              exitCode: end.exitCode,
              reason: `AWS stopped the job's task (${d.stopCode ?? "no stop code"}): ${cleanReason(d.stoppedReason)}`,
            };
      default:
        return { outcome: "failed", exitCode: end.exitCode, ...reason };
    }
  }
  if (d.stopCode === "TaskFailedToStart" || (c?.exitCode == null && !d.startedAt)) {
    return {
      outcome: "failed",
      exitCode: null,
      reason: `the job's task could not start: ${cleanReason(c?.reason || d.stoppedReason)}`,
    };
  }
  if (stoppedByUs) return { outcome: "cancelled", exitCode: null, reason: stopWhy };
  const code = c?.exitCode ?? null;
  switch (code) {
    case AGENT_EXIT.succeeded:
      return { outcome: "succeeded", exitCode: 0 };
    case AGENT_EXIT.timedOut:
      return { outcome: "timed_out", exitCode: null, reason: "killed at its timeout" };
    case AGENT_EXIT.quotaExceeded:
      return { outcome: "failed", exitCode: null, reason: "outputs/ grew past its quota; outputs/ was not saved" };
    case AGENT_EXIT.syncFailed:
      return { outcome: "failed", exitCode: null, reason: "the workspace's files could not be downloaded or saved" };
    case AGENT_EXIT.withdrawn:
      return { outcome: "failed", exitCode: null, reason: "the job was withdrawn before it started" };
    case AGENT_EXIT.misconfigured:
      return { outcome: "failed", exitCode: null, reason: "the workspace task is misconfigured (see its log)" };
    case null:
      return {
        outcome: "failed",
        exitCode: null,
        reason: `the job's task was stopped (${d.stopCode ?? "no stop code"}): ${cleanReason(d.stoppedReason)}`,
      };
    default: {
      const oom = /OutOfMemory/i.test(c?.reason ?? "");
      return {
        outcome: "failed",
        exitCode: null,
        reason: oom
          ? "the job's task ran out of memory and was killed"
          : `the job's task ended with exit code ${code}: ${cleanReason(c?.reason || d.stoppedReason)}`,
      };
    }
  }
}

/** The workspace and job of a STOPPED task of ours, or null for any other event. */
export function jobOfEvent(event: unknown, o: Pick<TaskEventOptions, "containerName" | "clusterArn">) {
  const parsed = TaskStateChange.safeParse(event);
  if (!parsed.success) return null;
  const d = parsed.data.detail;
  if (d.lastStatus !== "STOPPED") return null;
  if (o.clusterArn && d.clusterArn !== o.clusterArn) return null;
  const workspaceId = d.startedBy ?? "";
  if (!WORKSPACE_ID.test(workspaceId)) return null;
  const ours = d.overrides?.containerOverrides.find((x) => x.name === o.containerName);
  const jobId = ours?.environment?.find((e) => e.name === AGENT_ENV.jobId)?.value ?? "";
  if (!JOB_ID.test(jobId)) return null;
  return { workspaceId, jobId, detail: d, time: parsed.data.time };
}

/**
 * Maps a task-state-change event to the end of the job the task ran.
 * @returns null for events that are not a STOPPED task of ours (other statuses, clusters, tasks).
 * @throws the CloudWatch Logs error when the log cannot be read (the event is then retried).
 * @example
 * const end = await jobEndFromTaskEvent(event, { logs, logGroup, streamPrefix: "workspace", containerName: "workspace" });
 * if (end) { await Job.finish(deps, end.workspaceId, end.jobId, end.result); await deleteJobLogStream(opts, end.logStreamName); }
 */
export async function jobEndFromTaskEvent(event: unknown, o: TaskEventOptions): Promise<JobEnd | null> {
  const job = jobOfEvent(event, o);
  if (!job) return null;
  const d = job.detail;
  const stream = logStreamName(o, d.taskArn);
  const container = d.containers.find((x) => x.name === o.containerName);
  const ranAgent = container?.exitCode != null && AGENT_CODES.has(container.exitCode);
  const attempts = Math.max(1, o.logAttempts ?? 4);
  let decoded = decodeLog([]);
  if (d.stopCode !== "TaskFailedToStart") {
    for (let attempt = 1; attempt <= attempts; attempt++) {
      decoded = decodeLog((await readLogLines(o, stream)) ?? []);
      // The agent writes `end` before it exits, but the stream may lag the STOPPED event by seconds.
      if (decoded.end || !ranAgent || attempt === attempts) break;
      await (o.sleep ?? realSleep)(o.logRetryMs ?? 3000);
    }
  }
  const { reason, ...outcome } = outcomeOf(d, o.containerName, decoded.end);
  const result: JobResult = {
    ...outcome,
    ...(reason === undefined ? {} : { reason }),
    stdout: decoded.stdout,
    stderr: decoded.stderr,
    startedAt: iso(decoded.end?.startedAt, d.startedAt, d.createdAt, job.time),
    finishedAt: iso(decoded.end?.finishedAt, d.executionStoppedAt, d.stoppedAt, job.time),
  };
  return { workspaceId: job.workspaceId, jobId: job.jobId, result, taskArn: d.taskArn, logStreamName: stream };
}

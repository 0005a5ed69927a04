/**
 * The contract between the controller (packages/aws: ecs-runtime.ts starts tasks, task-events.ts reads how
 * they ended) and the agent inside the workspace image: the environment the agent is given, where the job's
 * spec and areas live in the workspaces bucket, the agent's exit codes and the records it writes to its log.
 * Node builtins only: the image build bundles the agent (and so this file) with esbuild.
 */

/** The container command the runtime passes: the image's ENTRYPOINT is the agent, this is its argv. */
export const AGENT_COMMAND = ["run-job"] as const;

/** Environment variables the runtime sets on the container (values are names and numbers, never secrets). */
export const AGENT_ENV = {
  bucket: "SPE_BUCKET",
  /** `permits/<P>/workspaces/<W>/`, with the trailing slash. */
  prefix: "SPE_PREFIX",
  jobId: "SPE_JOB_ID",
  timeoutSeconds: "SPE_TIMEOUT_SECONDS",
  outputsQuotaBytes: "SPE_OUTPUTS_QUOTA_BYTES",
  /** The permit key (alias ARN) that every object the agent writes is encrypted under (SSE-KMS). */
  kmsKeyId: "SPE_KMS_KEY_ID",
} as const;

/** The three areas of a workspace, under its prefix in the bucket and under /workspace in the task. */
export const AREAS = ["data", "home", "outputs"] as const;
export type Area = (typeof AREAS)[number];

/**
 * Where the job's argv is kept: in the bucket, not in the RunTask overrides, because overrides are
 * recorded verbatim by CloudTrail and shown by DescribeTasks and in EventBridge events, and a command may
 * name data (a filter value, a subject id); the object is encrypted under the permit key like the data.
 * Overrides are also capped at 8 KiB, while a command may be 256 arguments of 4 KiB.
 */
export const jobSpecKey = (prefix: string, jobId: string) => `${prefix}jobs/${jobId}/spec.json`;

/** Written by the runtime once `start` completed: proves the workspace exists and carries its limits. */
export const workspaceMarkerKey = (prefix: string) => `${prefix}workspace.json`;

/** What the job-spec object holds. */
export interface JobSpecDocument {
  jobId: string;
  command: string[];
  timeoutSeconds: number;
}

/** Object metadata key holding the object's hex SHA-256 (multipart uploads have no full-object SHA-256). */
export const SHA256_METADATA = "sha256";

/**
 * The agent's exit codes: its verdict, not the job's own exit code (that is in the `end` record).
 * The controller maps them only when the `end` record cannot be read from the log.
 */
export const AGENT_EXIT = {
  succeeded: 0,
  /** The job exited non-zero or was killed by a signal. */
  failed: 1,
  /** The agent's configuration (environment, argv) was invalid: a deployment error. */
  misconfigured: 64,
  /** The job's spec was not in the bucket: the runtime withdrew the job before it ran. */
  withdrawn: 66,
  /** The workspace could not be downloaded, or home/ and outputs/ could not be uploaded. */
  syncFailed: 75,
  /** outputs/ grew past its quota: the job was killed and outputs/ was not saved. */
  quotaExceeded: 122,
  /** The job was killed at its timeout. */
  timedOut: 124,
  /** The task was asked to stop (SIGTERM from ECS StopTask): the job was killed. */
  cancelled: 130,
} as const;

/** How a job ended, as the agent saw it. */
export type AgentOutcome = "succeeded" | "failed" | "timed_out" | "cancelled" | "quota_exceeded";

/** The agent's last log record: authoritative over the exit code, which cannot carry the job's own code. */
export interface EndRecord {
  event: "end";
  outcome: AgentOutcome;
  /** The job's exit status; null when it was killed by a signal or never started. */
  exitCode: number | null;
  signal: string | null;
  /** Why, when it is not the exit code; the agent's own words, never data values. */
  reason?: string;
  startedAt: string;
  finishedAt: string;
}

/** A record saying that `bytes` of a stream were not forwarded to the log (only its tail was). */
export interface SkippedRecord {
  event: "skipped";
  stream: "stdout" | "stderr";
  bytes: number;
}

/** Other records (`start`, `synced`, `note`) are for operators; the controller ignores them. */
export interface NoteRecord {
  event: "start" | "synced" | "note";
  [field: string]: unknown;
}

export type AgentRecord = EndRecord | SkippedRecord | NoteRecord;

/**
 * Environment of every job: nothing of the task's (no credentials endpoint, no metadata endpoint). Caches
 * (matplotlib's font list, XDG caches) go to /tmp, not into home/, which is uploaded after every job.
 */
export const JOB_ENV: Readonly<Record<string, string>> = {
  PATH: "/usr/local/bin:/usr/bin:/bin",
  HOME: "/workspace/home",
  LANG: "C.UTF-8",
  TMPDIR: "/tmp",
  MPLBACKEND: "Agg",
  MPLCONFIGDIR: "/tmp/.matplotlib",
  XDG_CACHE_HOME: "/tmp/.cache",
};

/** The unprivileged user jobs run as (`researcher` in the image). */
export const JOB_UID = 1000;

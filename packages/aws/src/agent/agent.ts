/**
 * The agent's work for one job, start to end: read the job's spec from the bucket, download the workspace
 * into the task's /workspace, run the job (run-job.ts), upload home/ and outputs/ back (sync.ts), and say
 * how it ended in one `end` record and the exit code. Everything it needs comes in as arguments, so a test
 * runs it against a temporary directory and a mocked S3. Node builtins and the S3 client only.
 */
import { chmod, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { GetObjectCommand, type S3Client, S3ServiceException } from "@aws-sdk/client-s3";
import { agentLine } from "./framing";
import { JobOutput } from "./job-output";
import {
  AGENT_EXIT,
  type AgentOutcome,
  type AgentRecord,
  type EndRecord,
  JOB_ENV,
  type JobSpecDocument,
  jobSpecKey,
} from "./protocol";
import { runJob } from "./run-job";
import { type AreaTarget, type Downloaded, downloadArea, type Owner, uploadArea } from "./sync";
import { AreaTooLargeError } from "./tree";

export interface AgentConfig {
  bucket: string;
  prefix: string;
  jobId: string;
  timeoutSeconds: number;
  outputsQuotaBytes: number;
  kmsKeyId: string;
}

export interface AgentDeps {
  s3: S3Client;
  /** Where the workspace is laid out (`/workspace` in the image); must not hold the areas yet. */
  root: string;
  /** The job's user; absent when the agent is not root. */
  owner?: Owner;
  /** Writes one log line (the container's stdout). */
  emit: (line: string) => void;
  /** Aborted when the task is asked to stop (SIGTERM). */
  cancel: AbortSignal;
  /** Forwarded to the job-output bounds (tests use small ones). */
  forwardLimitBytes?: number;
  quotaPollMs?: number;
}

const EXIT_FOR: Record<AgentOutcome, number> = {
  succeeded: AGENT_EXIT.succeeded,
  failed: AGENT_EXIT.failed,
  timed_out: AGENT_EXIT.timedOut,
  cancelled: AGENT_EXIT.cancelled,
  quota_exceeded: AGENT_EXIT.quotaExceeded,
};

/** An error's class name only: messages of S3 errors can carry keys, and keys are file names. */
const errorName = (err: unknown) =>
  err instanceof S3ServiceException ? err.name : err instanceof Error ? err.name : "error";

/** Reads and checks the job's spec. @returns null when it is not there (the job was withdrawn). */
async function readSpec(cfg: AgentConfig, s3: S3Client): Promise<JobSpecDocument | null> {
  let text = "";
  try {
    const res = await s3.send(new GetObjectCommand({ Bucket: cfg.bucket, Key: jobSpecKey(cfg.prefix, cfg.jobId) }));
    const chunks: Uint8Array[] = [];
    for await (const c of (res.Body ?? []) as AsyncIterable<Uint8Array>) chunks.push(c);
    text = Buffer.concat(chunks).toString("utf8");
  } catch (err) {
    if (err instanceof S3ServiceException && (err.name === "NoSuchKey" || err.name === "NotFound")) return null;
    throw err;
  }
  const spec = JSON.parse(text) as Partial<JobSpecDocument>;
  const command = spec.command;
  if (
    spec.jobId !== cfg.jobId ||
    !Array.isArray(command) ||
    command.length === 0 ||
    command.some((a) => typeof a !== "string" || a.includes("\0")) ||
    command[0] === ""
  ) {
    throw new Error("the job's spec is malformed");
  }
  return { jobId: cfg.jobId, command, timeoutSeconds: cfg.timeoutSeconds };
}

/**
 * Runs the job of `cfg` and returns the agent's exit code (AGENT_EXIT). Never throws: every failure ends in
 * an `end` record saying why, in the agent's words (no data values, no file names).
 */
export async function runAgent(cfg: AgentConfig, deps: AgentDeps): Promise<number> {
  const record = (r: AgentRecord) => deps.emit(agentLine(r));
  const startedAt = new Date();
  const end = (outcome: AgentOutcome, fields: Partial<EndRecord> = {}): number => {
    record({
      event: "end",
      outcome,
      exitCode: null,
      signal: null,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      ...fields,
    });
    return EXIT_FOR[outcome];
  };
  record({ event: "start", jobId: cfg.jobId });

  let spec: JobSpecDocument | null;
  try {
    spec = await readSpec(cfg, deps.s3);
  } catch (err) {
    end("failed", { reason: `the job's spec could not be read (${errorName(err)})` });
    return AGENT_EXIT.syncFailed;
  }
  if (!spec) {
    end("failed", { reason: "the job was withdrawn before it started" });
    return AGENT_EXIT.withdrawn;
  }

  const t: AreaTarget = { s3: deps.s3, bucket: cfg.bucket, prefix: cfg.prefix, kmsKeyId: cfg.kmsKeyId };
  const dir = (area: string) => join(deps.root, area);
  let home: Downloaded;
  let outputs: Downloaded;
  try {
    await mkdir(deps.root, { recursive: true, mode: 0o755 });
    await chmod(deps.root, 0o755);
    const data = await downloadArea(t, "data", dir("data"));
    home = await downloadArea(t, "home", dir("home"), deps.owner);
    outputs = await downloadArea(t, "outputs", dir("outputs"), deps.owner);
    const files = { data: data.files.size, home: home.files.size, outputs: outputs.files.size };
    record({
      event: "note",
      message: "workspace downloaded",
      files,
      skipped: data.skipped + home.skipped + outputs.skipped,
    });
  } catch (err) {
    end("failed", { reason: `the workspace could not be downloaded (${errorName(err)})` });
    return AGENT_EXIT.syncFailed;
  }
  if (deps.cancel.aborted) return end("cancelled", { reason: "cancelled before the job started" });

  const output = new JobOutput(deps.emit, deps.forwardLimitBytes);
  const run = await runJob({
    command: spec.command,
    cwd: deps.root,
    env: JOB_ENV,
    ...(deps.owner ? { uid: deps.owner.uid, gid: deps.owner.gid } : {}),
    timeoutMs: cfg.timeoutSeconds * 1000,
    output,
    quota: { dir: dir("outputs"), bytes: cfg.outputsQuotaBytes, pollMs: deps.quotaPollMs },
    cancel: deps.cancel,
  });
  output.end();
  const result = {
    exitCode: run.exitCode,
    signal: run.signal,
    startedAt: run.startedAt.toISOString(),
    finishedAt: run.finishedAt.toISOString(),
  };

  // outputs/ past its quota is not kept: storing it is what the quota bounds.
  const keepOutputs = run.outcome !== "quota_exceeded";
  try {
    const h = await uploadArea(t, "home", dir("home"), home.files);
    const o = keepOutputs ? await uploadArea(t, "outputs", dir("outputs"), outputs.files) : null;
    record({ event: "synced", home: h, outputs: o });
  } catch (err) {
    const why = err instanceof AreaTooLargeError ? err.message : `an upload failed (${errorName(err)})`;
    end("failed", { ...result, reason: `the job ended (${run.outcome}) but its files were not all saved: ${why}` });
    return AGENT_EXIT.syncFailed;
  }
  const reason = run.outcome === "quota_exceeded" ? `${run.reason}; outputs/ was not saved` : run.reason;
  return end(run.outcome, { ...result, ...(reason ? { reason } : {}) });
}

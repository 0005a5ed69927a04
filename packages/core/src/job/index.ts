/** Job use cases: submit, start queued jobs (at most two at once per workspace), finish, read. */
import { type Actor, requireRole } from "../actor";
import { canonicalJson, sha256Hex } from "../audit/record";
import { DomainError, ForbiddenError, NotFoundError, ValidationError } from "../errors";
import type { Deps, JobResult, Versioned } from "../ports";
import { audited, mustGet, retryOnConflict } from "../usecase";
import { assertReady, visibleWorkspace } from "../workspace/access";
import { collect, getDecrypted, objectKeys, putEncryptedBytes } from "../workspace/objects";
import { loadIdentifierSet } from "../workspace/staging";
import { jobEvent, jobTransition, openJobs } from "./lifecycle";
import { redactIdentifiers } from "./redact";
import { DEFAULT_JOB_TIMEOUT_SECONDS, type JobInput, type Job as JobT, type JobView, MAX_RUNNING_JOBS } from "./schema";

export * from "./lifecycle";
export * from "./redact";
export * from "./schema";

const RUNNER = "system:runner";
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The workspace of a job route: visible to the caller (else 404), owned by them (else 403). */
async function ownWorkspace(deps: Pick<Deps, "store">, actor: Actor, workspaceId: string, action: string) {
  const ws = await visibleWorkspace(deps, actor, workspaceId, action);
  if (ws.item.owner !== actor.sub) {
    throw new ForbiddenError("workspace.not_owner", `only the owner of workspace ${workspaceId} can do this`);
  }
  return ws;
}

async function submit(deps: Deps, actor: Actor, workspaceId: string, input: JobInput): Promise<JobView> {
  const ctx = { actor, action: "job.submitted", target: `workspace/${workspaceId}`, details: { workspaceId } };
  const job = await audited(deps.store, ctx, async () => {
    requireRole(actor, "run a job", "researcher");
    const ws = (await ownWorkspace(deps, actor, workspaceId, "job.submitted")).item;
    const now = deps.clock.now();
    assertReady(ws, now);
    const remaining = Math.floor((Date.parse(ws.expiresAt) - now.getTime()) / 1000);
    const timeoutSeconds = input.timeoutSeconds ?? Math.min(DEFAULT_JOB_TIMEOUT_SECONDS, remaining);
    if (timeoutSeconds > remaining) {
      throw new ValidationError(
        "job.timeout_over_remaining",
        `timeoutSeconds must be at most ${remaining}, the workspace's remaining time`,
        [{ path: "timeoutSeconds", message: `must be at most ${remaining}` }],
      );
    }
    const job: JobT = {
      id: deps.ids.next("job"),
      workspaceId,
      permitId: ws.permitId,
      owner: actor.sub,
      command: input.command,
      timeoutSeconds,
      status: "queued",
      exitCode: null,
      reason: null,
      createdAt: now.toISOString(),
      startedAt: null,
      finishedAt: null,
    };
    // The command may name data (a script argument, a filter): only its hash goes to the audit trail.
    await deps.store.commit({
      writes: [{ kind: "job", item: job, expectedVersion: null }],
      audit: [
        jobEvent(actor.sub, "job.submitted", job, {
          commandSha256: sha256Hex(canonicalJson(job.command)),
          timeoutSeconds,
        }),
      ],
    });
    return job;
  });
  // Submitted whatever happens next; a failure to start it is recorded (the job stays queued for the next pump).
  const starting = {
    actor: { sub: RUNNER, roles: [] },
    action: "job.started",
    target: `workspace/${workspaceId}/jobs/${job.id}`,
    details: { workspaceId, jobId: job.id },
  };
  await audited(deps.store, starting, () => pump(deps, workspaceId));
  const current = await mustGet(deps.store, "job", job.id);
  return { ...current, stdout: "", stderr: "" };
}

/**
 * Starts queued jobs while fewer than MAX_RUNNING_JOBS run. Starting a job rewrites the workspace (same
 * content, next version), so two pumps racing cannot both take the last slot.
 */
async function pump(deps: Deps, workspaceId: string): Promise<void> {
  for (;;) {
    const started = await retryOnConflict(async () => {
      const ws = await deps.store.get("workspace", workspaceId);
      if (!ws || ws.item.status !== "ready") return null;
      const open = await openJobs(deps, workspaceId);
      if (open.filter((j) => j.item.status === "running").length >= MAX_RUNNING_JOBS) return null;
      const next = open.find((j) => j.item.status === "queued");
      if (!next) return null;
      const home = await homeDigest(deps, workspaceId);
      const item = jobTransition(next.item, "running", { startedAt: deps.clock.now().toISOString() });
      await deps.store.commit({
        writes: [
          { kind: "job", item, expectedVersion: next.version },
          { kind: "workspace", item: ws.item, expectedVersion: ws.version },
        ],
        audit: [
          jobEvent(RUNNER, "job.started", item, {
            commandSha256: sha256Hex(canonicalJson(item.command)),
            ...home,
          }),
        ],
      });
      return item;
    });
    if (!started) return;
    // From here the job is `running`: any failure must end it, or it would wait for a task that never ran.
    try {
      const permit = await deps.store.get("permit", started.permitId);
      await deps.runtime.startJob({
        workspaceId,
        jobId: started.id,
        command: started.command,
        timeoutSeconds: started.timeoutSeconds,
        memoryMiB: permit?.item.limits.memoryMiB ?? 2048,
      });
    } catch (err) {
      const now = deps.clock.now().toISOString();
      const reason =
        err instanceof DomainError
          ? err.message
          : "the runtime could not start the job (details are in the server log)";
      await finish(deps, workspaceId, started.id, {
        outcome: "failed",
        exitCode: null,
        reason,
        stdout: "",
        stderr: "",
        startedAt: now,
        finishedAt: now,
      });
      if (!(err instanceof DomainError)) throw err;
    }
  }
}

/**
 * What went in: a digest of `home/` (paths and hashes). A home too big to list (a virtualenv, say) must
 * not stop jobs from starting: it is recorded as such.
 */
async function homeDigest(deps: Deps, workspaceId: string): Promise<{ homeSha256: string | null; homeFiles: number }> {
  try {
    const home = await deps.runtime.listFiles(workspaceId, "home");
    return { homeSha256: sha256Hex(canonicalJson(home.map((f) => [f.path, f.sha256]))), homeFiles: home.length };
  } catch (err) {
    if (err instanceof DomainError && err.kind === "too_large") return { homeSha256: null, homeFiles: -1 };
    throw err;
  }
}

/** Records a job's end (reported by the runtime), stores its output encrypted, and starts the next one. */
async function finish(deps: Deps, workspaceId: string, jobId: string, result: JobResult): Promise<JobT | null> {
  const found = await deps.store.get("job", jobId);
  if (!found || found.item.workspaceId !== workspaceId) return null;
  let logs = { stdout: encoder.encode(result.stdout), stderr: encoder.encode(result.stderr) };
  let redacted = 0;
  if (found.item.status === "running") {
    const stored = await storeLogs(deps, found.item, result);
    if (stored) ({ logs, redacted } = stored);
  }
  const item = await retryOnConflict(async () => {
    const v: Versioned<JobT> | null = await deps.store.get("job", jobId);
    if (!v || v.item.status !== "running") return v?.item ?? null;
    const ended = jobTransition(v.item, result.outcome, {
      exitCode: result.exitCode,
      reason: result.reason ?? null,
      finishedAt: result.finishedAt,
    });
    await deps.store.commit({
      writes: [{ kind: "job", item: ended, expectedVersion: v.version }],
      audit: [
        jobEvent(RUNNER, "job.finished", ended, {
          status: ended.status,
          exitCode: ended.exitCode,
          durationMs: Date.parse(result.finishedAt) - Date.parse(result.startedAt),
          // Sizes only: a plain hash of a short output (one count, one id) could be reversed by guessing.
          stdoutBytes: logs.stdout.byteLength,
          stderrBytes: logs.stderr.byteLength,
          identifiersRedacted: redacted,
        }),
      ],
    });
    return ended;
  });
  await pump(deps, workspaceId);
  return item;
}

/**
 * Job output may hold data values: it is kept only encrypted under the permit key, with known identifiers
 * redacted. @returns what was stored, or null when the permit's data was shredded meanwhile.
 */
async function storeLogs(deps: Deps, job: JobT, result: JobResult) {
  let keys: Awaited<ReturnType<Deps["keys"]["permitKeys"]>>;
  try {
    keys = await deps.keys.permitKeys(job.permitId);
  } catch (err) {
    if (err instanceof DomainError) return null;
    throw err;
  }
  const known = await loadIdentifierSet(deps, keys, { id: job.workspaceId, permitId: job.permitId });
  const clean = (s: string) => (known ? redactIdentifiers(s, known) : { text: s, count: 0 });
  const out = clean(result.stdout);
  const err = clean(result.stderr);
  const logs = { stdout: encoder.encode(out.text), stderr: encoder.encode(err.text) };
  const at = objectKeys(job.permitId, job.workspaceId);
  await putEncryptedBytes(deps.objects, keys, at.jobLog(job.id, "stdout"), logs.stdout);
  await putEncryptedBytes(deps.objects, keys, at.jobLog(job.id, "stderr"), logs.stderr);
  return { logs, redacted: out.count + err.count };
}

async function readLog(deps: Deps, job: JobT, stream: "stdout" | "stderr"): Promise<string> {
  if (job.status === "queued" || job.status === "running") return "";
  const at = objectKeys(job.permitId, job.workspaceId).jobLog(job.id, stream);
  if ((await deps.objects.list(at)).length === 0) return "";
  const keys = await deps.keys.permitKeys(job.permitId);
  return decoder.decode(await collect(getDecrypted(deps.objects, keys, at)));
}

async function get(deps: Deps, actor: Actor, workspaceId: string, jobId: string): Promise<JobView> {
  const ctx = { actor, action: "job.read", target: `workspace/${workspaceId}/jobs/${jobId}`, details: { workspaceId } };
  return audited(deps.store, ctx, async () => {
    requireRole(actor, "read a job", "researcher");
    await ownWorkspace(deps, actor, workspaceId, "job.read");
    const found = await deps.store.get("job", jobId);
    if (!found || found.item.workspaceId !== workspaceId) throw new NotFoundError("job", jobId);
    const job = found.item;
    return { ...job, stdout: await readLog(deps, job, "stdout"), stderr: await readLog(deps, job, "stderr") };
  });
}

export const Job = { submit, pump, finish, get };
export type Job = JobT;

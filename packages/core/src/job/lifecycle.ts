/**
 * The job state machine and the changes other domains need: cancelling every open job of a workspace
 * when it terminates, and failing jobs a controller restart orphaned.
 */
import type { AuditEvent } from "../audit/record";
import { listAll } from "../paging";
import type { Deps, Versioned } from "../ports";
import { assertTransition, type TransitionTable } from "../state-machine";
import { retryOnConflict } from "../usecase";
import { type Job, type JobStatus, OPEN_JOB_STATUSES } from "./schema";

export const JOB_TRANSITIONS: TransitionTable<JobStatus> = {
  queued: ["running", "cancelled"],
  running: ["succeeded", "failed", "timed_out", "cancelled"],
  succeeded: [],
  failed: [],
  timed_out: [],
  cancelled: [],
};

export function jobTransition(job: Job, to: JobStatus, patch: Partial<Job> = {}): Job {
  assertTransition("job", JOB_TRANSITIONS, job.status, to);
  return { ...job, ...patch, status: to };
}

export function jobEvent(actor: string, action: string, job: Job, details: AuditEvent["details"] = {}): AuditEvent {
  return {
    actor,
    action,
    target: `workspace/${job.workspaceId}/jobs/${job.id}`,
    outcome: "allowed",
    details: { workspaceId: job.workspaceId, permitId: job.permitId, jobId: job.id, ...details },
  };
}

export const openJobs = (deps: Pick<Deps, "store">, workspaceId: string): Promise<Versioned<Job>[]> =>
  listAll((page) => deps.store.list("job", { workspaceId, status: OPEN_JOB_STATUSES }, page));

/**
 * Ends every queued or running job of the workspace with `status` (after its runtime stopped them).
 * Jobs that the runtime reported in the meantime keep their own ending.
 */
export async function endOpenJobs(
  deps: Pick<Deps, "store" | "clock">,
  actor: string,
  workspaceId: string,
  status: "cancelled" | "failed",
  reason: string,
): Promise<number> {
  let ended = 0;
  for (const open of await openJobs(deps, workspaceId)) {
    await retryOnConflict(async () => {
      const v = await deps.store.get("job", open.item.id);
      if (!v || !OPEN_JOB_STATUSES.includes(v.item.status)) return;
      const to = v.item.status === "queued" ? "cancelled" : status;
      const item = jobTransition(v.item, to, { reason, finishedAt: deps.clock.now().toISOString() });
      await deps.store.commit({
        writes: [{ kind: "job", item, expectedVersion: v.version }],
        audit: [jobEvent(actor, "job.finished", item, { status: item.status, reason })],
      });
      ended++;
    });
  }
  return ended;
}

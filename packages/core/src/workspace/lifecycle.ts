/**
 * The workspace state machine and the two halves of termination: the conditional write to `stopping`
 * (which callers may batch with other writes, e.g. a permit revoke), and the completion after the
 * runtime has stopped.
 */
import type { AuditEvent } from "../audit/record";
import { ConcurrentUpdateError, DomainError } from "../errors";
import { endOpenJobs } from "../job/lifecycle";
import type { Deps, Versioned, Write } from "../ports";
import { assertTransition, type TransitionTable } from "../state-machine";
import { retryOnConflict } from "../usecase";
import { objectKeys } from "./objects";
import { archiveOutputs } from "./outputs";
import type { TerminationReason, Workspace, WorkspaceStatus } from "./schema";

export const WORKSPACE_TRANSITIONS: TransitionTable<WorkspaceStatus> = {
  provisioning: ["ready", "failed", "stopping"],
  ready: ["stopping"],
  stopping: ["terminated"],
  terminated: [],
  failed: [],
};

export function transition(ws: Workspace, to: WorkspaceStatus, patch: Partial<Workspace> = {}): Workspace {
  assertTransition("workspace", WORKSPACE_TRANSITIONS, ws.status, to);
  return { ...ws, ...patch, status: to };
}

export const wsTarget = (ws: Pick<Workspace, "id">) => `workspace/${ws.id}`;

export function wsEvent(
  actor: string,
  action: string,
  ws: Workspace,
  details: AuditEvent["details"] = {},
  outcome: AuditEvent["outcome"] = "allowed",
): AuditEvent {
  return {
    actor,
    action,
    target: wsTarget(ws),
    outcome,
    details: { workspaceId: ws.id, permitId: ws.permitId, ...details },
  };
}

/** The write and audit event that move a live workspace to `stopping`. */
export function stoppingChange(
  actor: string,
  v: Versioned<Workspace>,
  reason: TerminationReason,
): { write: Write; event: AuditEvent } {
  const item = transition(v.item, "stopping", { terminationReason: reason });
  return {
    write: { kind: "workspace", item, expectedVersion: v.version },
    event: wsEvent(actor, "workspace.stopping", item, { reason }),
  };
}

/** Terminations that keep the outputs for another try when archiving them fails (a throttled store, say). */
export const MAX_OUTPUTS_ARCHIVE_ATTEMPTS = 5;

/**
 * Stops the workspace's jobs, keeps its outputs (encrypted), wipes its plaintext and records `terminated`.
 * Idempotent: a workspace already terminated is left alone. If the runtime fails, the workspace stays
 * `stopping` and the sweeper tries again. If the outputs cannot all be archived, the workspace also stays
 * `stopping` (jobs stopped, nothing running) and the sweeper tries again, up to MAX_OUTPUTS_ARCHIVE_ATTEMPTS
 * terminations; after that the loss is recorded and the plaintext is wiped all the same.
 */
export async function completeStop(
  deps: Pick<Deps, "store" | "runtime" | "scheduler" | "clock" | "objects" | "keys">,
  actor: string,
  workspaceId: string,
): Promise<Workspace | null> {
  const current = await deps.store.get("workspace", workspaceId);
  if (!current || current.item.status !== "stopping") return current?.item ?? null;
  const ws = current.item;
  await deps.runtime.stopJobs(workspaceId);
  await endOpenJobs(deps, actor, workspaceId, "cancelled", "the workspace was terminated");
  let problem: string | null = null;
  let archived = { files: 0, bytes: 0, failed: 0 };
  try {
    const { kept, failed } = await archiveOutputs(deps, ws);
    archived = { files: kept.length, bytes: kept.reduce((n, f) => n + f.bytes, 0), failed };
    if (failed > 0) problem = `${failed} output files could not be archived`;
  } catch (err) {
    problem = err instanceof DomainError ? err.message : "the outputs could not be archived (see the server log)";
  }
  if (problem) {
    const attempt = (ws.outputsArchiveAttempts ?? 0) + 1;
    const retrying = attempt < MAX_OUTPUTS_ARCHIVE_ATTEMPTS;
    const event = wsEvent(
      actor,
      "workspace.outputs_archived",
      ws,
      { ...archived, reason: problem, attempt, retrying },
      "failed",
    );
    if (retrying) {
      // Nothing is wiped: the outputs stay for the sweeper's next try (the workspace stays `stopping`).
      const item: Workspace = { ...ws, outputsArchiveAttempts: attempt };
      try {
        await deps.store.commit({
          writes: [{ kind: "workspace", item, expectedVersion: current.version }],
          audit: [event],
        });
      } catch (err) {
        if (!(err instanceof ConcurrentUpdateError)) throw err;
      }
      return item;
    }
    await deps.store.commit({ writes: [], audit: [event] });
  } else if (archived.files > 0) {
    await deps.store.commit({ writes: [], audit: [wsEvent(actor, "workspace.outputs_archived", ws, archived)] });
  }
  await deps.runtime.stop(workspaceId);
  // The staged copy is of no use once the workspace is gone (data minimisation); outputs and logs stay.
  await deps.objects.deletePrefix(objectKeys(ws.permitId, workspaceId).staging);
  await deps.scheduler.cancel(workspaceId);
  return retryOnConflict(async () => {
    const v = await deps.store.get("workspace", workspaceId);
    if (!v || v.item.status !== "stopping") return v?.item ?? null;
    const item = transition(v.item, "terminated", { terminatedAt: deps.clock.now().toISOString() });
    await deps.store.commit({
      writes: [{ kind: "workspace", item, expectedVersion: v.version }],
      audit: [wsEvent(actor, "workspace.terminated", item, { reason: item.terminationReason })],
    });
    return item;
  });
}

/** Commits `stopping` (one attempt: losing the race means someone else is terminating it). */
export async function beginStop(
  deps: Pick<Deps, "store">,
  actor: string,
  v: Versioned<Workspace>,
  reason: TerminationReason,
): Promise<boolean> {
  const { write, event } = stoppingChange(actor, v, reason);
  try {
    await deps.store.commit({ writes: [write], audit: [event] });
    return true;
  } catch (err) {
    if (err instanceof ConcurrentUpdateError) return false;
    throw err;
  }
}

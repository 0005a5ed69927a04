/** The egress request state machine: one way in (pending_review), every decision is final. */
import type { AuditEvent } from "../audit/record";
import { listAll } from "../paging";
import type { Deps } from "../ports";
import { assertTransition, type TransitionTable } from "../state-machine";
import { retryOnConflict } from "../usecase";
import type { EgressRequest, EgressStatus, Verdict } from "./schema";

export const EGRESS_TRANSITIONS: TransitionTable<EgressStatus> = {
  pending_review: ["approved", "rejected", "changes_requested", "withdrawn", "cancelled"],
  approved: [],
  rejected: [],
  changes_requested: [],
  withdrawn: [],
  cancelled: [],
};

export const OPEN_EGRESS_STATUSES: readonly EgressStatus[] = ["pending_review"];

export function egressTransition(r: EgressRequest, to: EgressStatus, patch: Partial<EgressRequest> = {}) {
  assertTransition("egress", EGRESS_TRANSITIONS, r.status, to);
  return { ...r, ...patch, status: to };
}

const ORDER: Record<Verdict, number> = { pass: 0, review: 1, fail: 2 };
export const worstVerdict = (verdicts: Verdict[]): Verdict =>
  verdicts.reduce<Verdict>((w, v) => (ORDER[v] > ORDER[w] ? v : w), "pass");

export function egressEvent(
  actor: string,
  action: string,
  r: Pick<EgressRequest, "id" | "workspaceId" | "permitId">,
  details: AuditEvent["details"] = {},
  outcome: AuditEvent["outcome"] = "allowed",
): AuditEvent {
  return {
    actor,
    action,
    target: `egress/${r.id}`,
    outcome,
    details: { egressId: r.id, workspaceId: r.workspaceId, permitId: r.permitId, ...details },
  };
}

/** Revoking a permit cancels its open requests (one commit per request; already decided ones are kept). */
export async function cancelOpenRequests(
  deps: Pick<Deps, "store" | "clock">,
  actor: string,
  permitId: string,
  reason: string,
): Promise<number> {
  let n = 0;
  const open = await listAll((page) => deps.store.list("egress", { permitId, status: OPEN_EGRESS_STATUSES }, page));
  for (const o of open) {
    await retryOnConflict(async () => {
      const v = await deps.store.get("egress", o.item.id);
      if (!v || v.item.status !== "pending_review") return;
      const item = egressTransition(v.item, "cancelled", { decidedAt: deps.clock.now().toISOString() });
      await deps.store.commit({
        writes: [{ kind: "egress", item, expectedVersion: v.version }],
        audit: [egressEvent(actor, "egress.cancelled", item, { reason })],
      });
      n++;
    });
  }
  return n;
}

/**
 * Reviews: separation of duties (a requester never reviews their own request, whatever roles they hold),
 * one review per reviewer, comments where the decision needs a reason, N distinct approvals to approve,
 * the first reject or request for changes decides. Each review is a conditional write on the request's
 * version, so racing reviews cannot produce two decisions.
 */
import { type Actor, requireRole } from "../actor";
import { NotFoundError } from "../errors";
import type { Deps } from "../ports";
import { IntegrityError, measured } from "../staging";
import { audited, retryOnConflict } from "../usecase";
import { putEncrypted } from "../workspace/objects";
import { egressEvent, egressTransition } from "./lifecycle";
import { commentRefusal, reviewRefusal } from "./refusals";
import type { EgressRequest, Review, ReviewInput } from "./schema";
import { egressKeys, readSnapshot } from "./snapshot";

export async function review(deps: Deps, actor: Actor, id: string, input: ReviewInput): Promise<EgressRequest> {
  const ctx = { actor, action: "egress.reviewed", target: `egress/${id}`, details: { egressId: id } };
  const decided = await audited(deps.store, ctx, () => {
    requireRole(actor, "review an egress request", "reviewer");
    return retryOnConflict(async () => {
      const v = await deps.store.get("egress", id);
      if (!v) throw new NotFoundError("egress", id);
      const r = v.item;
      const refused = reviewRefusal(actor, r);
      if (refused) throw refused;
      const comment = input.comment?.trim() || null;
      const override = input.decision === "approve" && r.verdict === "fail";
      const missing = commentRefusal(input.decision, r.verdict, comment);
      if (missing) throw missing;
      const now = deps.clock.now().toISOString();
      const mine: Review = { reviewer: actor.sub, decision: input.decision, comment, override, at: now };
      const reviews = [...r.reviews, mine];
      const permit = await deps.store.get("permit", r.permitId);
      const required = permit?.item.egress.reviewersRequired ?? 1;
      const approvals = reviews.filter((x) => x.decision === "approve").length;
      let next: EgressRequest = { ...r, reviews };
      if (input.decision === "reject") next = egressTransition(next, "rejected", { decidedAt: now });
      else if (input.decision === "request_changes")
        next = egressTransition(next, "changes_requested", { decidedAt: now });
      else if (approvals >= required) next = egressTransition(next, "approved", { decidedAt: now });
      await deps.store.commit({
        writes: [{ kind: "egress", item: next, expectedVersion: v.version }],
        audit: [
          egressEvent(actor.sub, "egress.reviewed", next, {
            decision: input.decision,
            override,
            commented: comment !== null,
            approvals,
            reviewersRequired: required,
            status: next.status,
          }),
        ],
      });
      return next;
    });
  });
  if (decided.status === "approved") {
    // The decision stands if the release copy fails: `audited` records the failure, and downloads finish the
    // copy (ensureReleased). Rethrowing would tell the reviewer that nothing changed, although it is approved.
    const releasing = { ...ctx, action: "egress.released", details: { egressId: id, permitId: decided.permitId } };
    await audited(deps.store, releasing, () => ensureReleased(deps, decided)).catch(() => undefined);
  }
  return decided;
}

/**
 * Copies the approved snapshots to the release area (re-encrypted under their release names). Idempotent:
 * downloads call it too, in case the copy after approval was interrupted.
 */
export async function ensureReleased(deps: Pick<Deps, "objects" | "keys">, r: EgressRequest): Promise<void> {
  const at = egressKeys(r.permitId, r.id);
  const have = new Set((await deps.objects.list(`${at.base}release/`)).map((o) => o.key));
  const missing = r.files.map((_, i) => i).filter((i) => !have.has(at.release(i)));
  if (missing.length === 0) return;
  const keys = await deps.keys.permitKeys(r.permitId);
  for (const i of missing) {
    const m = measured(readSnapshot(deps, keys, r.permitId, r.id, i));
    await putEncrypted(deps.objects, keys, at.release(i), m.stream);
    if (m.result().sha256 !== r.files[i]?.sha256) {
      await deps.objects.deletePrefix(at.release(i));
      throw new IntegrityError(`the snapshot of ${r.files[i]?.path} no longer matches its approved SHA-256`);
    }
  }
}

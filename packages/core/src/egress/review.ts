/**
 * Reviews: separation of duties (a requester never reviews their own request, whatever roles they hold),
 * one review per reviewer, comments where the decision needs a reason, N distinct approvals to approve,
 * the first reject or request for changes decides. Each review is a conditional write on the request's
 * version, so racing reviews cannot produce two decisions.
 */
import { type Actor, requireRole } from "../actor";
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from "../errors";
import type { Deps } from "../ports";
import { IntegrityError, measured } from "../staging";
import { audited, retryOnConflict } from "../usecase";
import { putEncrypted } from "../workspace/objects";
import { egressEvent, egressTransition } from "./lifecycle";
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
      if (r.requester === actor.sub) {
        throw new ForbiddenError("egress.self_review", "you made this request: another reviewer must review it");
      }
      if (r.status !== "pending_review") {
        throw new ConflictError("egress.decided", `egress request ${id} is already ${r.status}`);
      }
      if (r.reviews.some((x) => x.reviewer === actor.sub)) {
        throw new ConflictError("egress.already_reviewed", `you already reviewed egress request ${id}`);
      }
      const comment = input.comment?.trim() || null;
      const override = input.decision === "approve" && r.verdict === "fail";
      if (!comment && (input.decision !== "approve" || override)) {
        const why = override
          ? "approving a request whose automated verdict is fail is an override: say why in a comment"
          : `${input.decision === "reject" ? "rejecting" : "requesting changes"} needs a comment telling the researcher why`;
        throw new ValidationError("egress.comment_required", why, [{ path: "comment", message: "required" }]);
      }
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
  if (decided.status === "approved") await ensureReleased(deps, decided);
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

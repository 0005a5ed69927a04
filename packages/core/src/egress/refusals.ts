/**
 * Why an egress action would be refused, as data: each rule is written once here, and both the use case
 * that performs the action (it throws the error) and the console that shows a disabled button with the
 * server's reason (it displays the message) call it. A function returns null when the action is allowed.
 */
import { type Actor, hasRole } from "../actor";
import { ConflictError, type DomainError, ForbiddenError, ValidationError } from "../errors";
import type { Decision, EgressRequest, Verdict } from "./schema";

/** Why `actor` may not review `r` now (role, separation of duties, already decided, already reviewed). */
export function reviewRefusal(actor: Actor, r: EgressRequest): DomainError | null {
  if (!hasRole(actor, "reviewer")) {
    return new ForbiddenError("auth.role_required", "review an egress request requires one of the roles: reviewer");
  }
  if (r.requester === actor.sub) {
    return new ForbiddenError("egress.self_review", "you made this request: another reviewer must review it");
  }
  if (r.status !== "pending_review") {
    return new ConflictError("egress.decided", `egress request ${r.id} is already ${r.status}`);
  }
  if (r.reviews.some((x) => x.reviewer === actor.sub)) {
    return new ConflictError("egress.already_reviewed", `you already reviewed egress request ${r.id}`);
  }
  return null;
}

/**
 * The reason a decision needs a comment, or null when it does not: rejecting and requesting changes
 * always do (the researcher must learn why), and so does approving a request whose automated verdict is
 * `fail` (an override).
 */
export function commentRequirement(decision: Decision, verdict: Verdict): string | null {
  if (decision === "approve") {
    return verdict === "fail"
      ? "approving a request whose automated verdict is fail is an override: say why in a comment"
      : null;
  }
  return `${decision === "reject" ? "rejecting" : "requesting changes"} needs a comment telling the researcher why`;
}

/** The 400 for a decision that needs a comment and has none. */
export function commentRefusal(decision: Decision, verdict: Verdict, comment: string | null): ValidationError | null {
  const why = comment ? null : commentRequirement(decision, verdict);
  return why ? new ValidationError("egress.comment_required", why, [{ path: "comment", message: "required" }]) : null;
}

/** Why `actor` may not withdraw `r` (only its requester, only while pending). */
export function withdrawRefusal(actor: Actor, r: EgressRequest): DomainError | null {
  if (r.requester !== actor.sub) {
    return new ForbiddenError("egress.not_requester", "only the requester can withdraw a request");
  }
  if (r.status !== "pending_review") {
    return new ConflictError("egress.decided", `egress request ${r.id} is ${r.status}: it can no longer be withdrawn`);
  }
  return null;
}

/** Why `actor` may not get download links for `r` (only its requester, a researcher, once approved). */
export function downloadRefusal(actor: Actor, r: EgressRequest): DomainError | null {
  if (!hasRole(actor, "researcher")) {
    return new ForbiddenError("auth.role_required", "download released files requires one of the roles: researcher");
  }
  if (r.requester !== actor.sub) return new ForbiddenError("egress.not_requester", "only the requester can download");
  if (r.status !== "approved") {
    return new ConflictError(
      "egress.not_approved",
      `egress request ${r.id} is ${r.status}: only approved files can be downloaded`,
    );
  }
  return null;
}

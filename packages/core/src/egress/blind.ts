/**
 * Blind voting: while a request that needs several reviewers (`reviewersRequired > 1`) is pending, each
 * viewer sees only their own review, so no reviewer is anchored by another's vote. Not even how many others
 * voted: while pending, every recorded vote is an approval (a reject or request for changes decides at
 * once), so a count would tell the next reviewer how many approved. Once the request is decided (enough approvals, or the first reject or request for changes) every
 * review is shown. Applied by every read of a request (get, list, the answer to a review), so the JSON API
 * and the console hide the same thing. The audit trail (admins and auditors) keeps every vote as it happens.
 */
import type { Actor } from "../actor";
import type { Deps } from "../ports";
import type { EgressRequest } from "./schema";

/** A request as a viewer may see it: `blind` is present while other reviewers' votes are hidden. */
export type EgressView = EgressRequest & {
  blind?: { reviewersRequired: number };
};

/** Whether votes on `r` are hidden from other reviewers now. */
export const isBlind = (r: Pick<EgressRequest, "status">, reviewersRequired: number): boolean =>
  r.status === "pending_review" && reviewersRequired > 1;

/** `r` as `viewer` may see it, given the permit's `reviewersRequired`. */
export function blindView(r: EgressRequest, viewer: Pick<Actor, "sub">, reviewersRequired: number): EgressView {
  if (!isBlind(r, reviewersRequired)) return r;
  const mine = r.reviews.filter((x) => x.reviewer === viewer.sub);
  return { ...r, reviews: mine, blind: { reviewersRequired } };
}

/** How many reviewers each of these permits requires (1 for a permit that is gone), read once per permit. */
export async function reviewersRequired(
  deps: Pick<Deps, "store">,
  permitIds: Iterable<string>,
): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const id of permitIds) {
    if (out.has(id)) continue;
    out.set(id, (await deps.store.get("permit", id))?.item.egress.reviewersRequired ?? 1);
  }
  return out;
}

/** The blind views of `requests` for `viewer`. */
export async function blindViews(
  deps: Pick<Deps, "store">,
  viewer: Pick<Actor, "sub">,
  requests: EgressRequest[],
): Promise<EgressView[]> {
  const pending = requests.filter((r) => r.status === "pending_review");
  const required = await reviewersRequired(
    deps,
    pending.map((r) => r.permitId),
  );
  return requests.map((r) => blindView(r, viewer, required.get(r.permitId) ?? 1));
}

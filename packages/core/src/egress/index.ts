/** Egress use cases: request, read, review (with drafts), withdraw, download, release record. */
import { type Actor, hasRole, requireRole } from "../actor";
import { ConflictError, NotFoundError } from "../errors";
import type { Deps, Versioned } from "../ports";
import type { Page } from "../schema-common";
import { audited, recordRefusal, requireRoleAudited, retryOnConflict } from "../usecase";
import { collect } from "../workspace/objects";
import { actionsFor, activityOf } from "./actions";
import { blindView, blindViews, type EgressView, reviewersRequired } from "./blind";
import { createLinks, redeem } from "./downloads";
import { getDraft, saveDraft } from "./draft";
import { egressEvent, egressTransition } from "./lifecycle";
import { withdrawRefusal } from "./refusals";
import { releaseRecord } from "./release-record";
import { createRequest } from "./request";
import { review } from "./review";
import type { EgressStatus, EgressRequest as EgressT, ReviewInput } from "./schema";
import { readSnapshot } from "./snapshot";

export * from "./actions";
export * from "./blind";
export * from "./checks";
export type { DownloadGrant, DownloadLink, RedeemedDownload } from "./downloads";
export * from "./draft";
export * from "./finding-location";
export * from "./lifecycle";
export * from "./refusals";
export * from "./release-record";
export * from "./schema";
export * from "./table-view";

const seesAll = (actor: Actor) => hasRole(actor, "reviewer", "admin", "auditor");

/** A request the actor may see (their own, or all for reviewers, admins, auditors); else a 404, audited. */
async function visibleRequest(deps: Pick<Deps, "store">, actor: Actor, id: string, action: string) {
  const found: Versioned<EgressT> | null = await deps.store.get("egress", id);
  if (found && (seesAll(actor) || (hasRole(actor, "researcher") && found.item.requester === actor.sub))) return found;
  const err = new NotFoundError("egress", id);
  if (found) await recordRefusal(deps.store, { actor, action, target: `egress/${id}`, details: { egressId: id } }, err);
  throw err;
}

async function list(
  deps: Pick<Deps, "store">,
  actor: Actor,
  query: { limit: number; cursor?: string; status?: EgressStatus; permitId?: string; workspaceId?: string },
): Promise<Page<EgressView>> {
  await requireRoleAudited(
    deps.store,
    { actor, action: "egress.list", target: "egress/*" },
    "list egress requests",
    "researcher",
    "reviewer",
    "admin",
    "auditor",
  );
  const res = await deps.store.list(
    "egress",
    {
      ...(seesAll(actor) ? {} : { owner: actor.sub }),
      ...(query.status ? { status: [query.status] } : {}),
      ...(query.permitId ? { permitId: query.permitId } : {}),
      ...(query.workspaceId ? { workspaceId: query.workspaceId } : {}),
    },
    query,
  );
  return {
    items: await blindViews(
      deps,
      actor,
      res.items.map((v) => v.item),
    ),
    next: res.next,
  };
}

/** The request as the actor may see it (blind to other reviewers' votes while those are hidden). */
async function get(deps: Pick<Deps, "store">, actor: Actor, id: string): Promise<EgressView> {
  const r = (await visibleRequest(deps, actor, id, "egress.read")).item;
  return (await blindViews(deps, actor, [r]))[0] as EgressView;
}

/** Reviews, answered with the request as the reviewer may see it (blind while votes are hidden). */
async function reviewAndView(deps: Deps, actor: Actor, id: string, input: ReviewInput): Promise<EgressView> {
  return (await blindViews(deps, actor, [await review(deps, actor, id, input)]))[0] as EgressView;
}

/**
 * What the actor may do with the request, and why not; their draft; the permit's reviewersRequired.
 * @throws NotFoundError when they may not see it.
 */
async function actions(deps: Pick<Deps, "store" | "clock">, actor: Actor, id: string) {
  const r = (await visibleRequest(deps, actor, id, "egress.read")).item;
  const required = (await reviewersRequired(deps, [r.permitId])).get(r.permitId) ?? 1;
  return {
    request: blindView(r, actor, required),
    reviewersRequired: required,
    actions: actionsFor(actor, r),
    draft: await getDraft(deps, actor, id),
  };
}

/** The request's history from the audit trail, for those who may see the request (blind while votes are). */
async function activity(deps: Pick<Deps, "store" | "audit">, actor: Actor, id: string) {
  const r = (await visibleRequest(deps, actor, id, "egress.read")).item;
  const required = (await reviewersRequired(deps, [r.permitId])).get(r.permitId) ?? 1;
  return activityOf(deps, actor, r, required);
}

/** The snapshot's bytes, for reviewers inspecting a file (audited: who looked at what). */
async function fileContent(deps: Deps, actor: Actor, id: string, index: number) {
  const ctx = { actor, action: "egress.file_viewed", target: `egress/${id}`, details: { egressId: id } };
  return audited(deps.store, ctx, async () => {
    const r = (await visibleRequest(deps, actor, id, ctx.action)).item;
    requireRole(actor, "read a snapshot", "reviewer");
    const file = r.files[index];
    if (!file) throw new NotFoundError(`egress ${id} file`, String(index));
    const keys = await deps.keys.permitKeys(r.permitId);
    const bytes = await collect(readSnapshot(deps, keys, r.permitId, r.id, index));
    await deps.store.commit({
      writes: [],
      audit: [egressEvent(actor.sub, ctx.action, r, { index, path: file.path, sha256: file.sha256 })],
    });
    return { path: file.path, sha256: file.sha256, bytes };
  });
}

async function withdraw(deps: Deps, actor: Actor, id: string): Promise<EgressT> {
  const ctx = { actor, action: "egress.withdrawn", target: `egress/${id}`, details: { egressId: id } };
  return audited(deps.store, ctx, () =>
    retryOnConflict(async () => {
      const v = await visibleRequest(deps, actor, id, ctx.action);
      const refused = withdrawRefusal(actor, v.item);
      if (refused) throw refused;
      const item = egressTransition(v.item, "withdrawn", { decidedAt: deps.clock.now().toISOString() });
      await deps.store.commit({
        writes: [{ kind: "egress", item, expectedVersion: v.version }],
        audit: [egressEvent(actor.sub, ctx.action, item)],
      });
      return item;
    }),
  );
}

/** The Five Safes RO-Crate of an approved request (admins, auditors). */
async function record(deps: Pick<Deps, "store">, actor: Actor, id: string) {
  await requireRoleAudited(
    deps.store,
    { actor, action: "egress.release_record", target: `egress/${id}` },
    "read a release record",
    "admin",
    "auditor",
  );
  const r = (await visibleRequest(deps, actor, id, "egress.release_record")).item;
  if (r.status !== "approved") {
    throw new ConflictError(
      "egress.not_approved",
      `egress request ${id} is ${r.status}: only approved requests have a release record`,
    );
  }
  return releaseRecord(r, (await deps.store.get("permit", r.permitId))?.item ?? null);
}

export const Egress = {
  request: createRequest,
  list,
  get,
  fileContent,
  withdraw,
  review: reviewAndView,
  actions,
  activity,
  draft: getDraft,
  saveDraft,
  downloads: createLinks,
  redeem,
  releaseRecord: record,
};
export type Egress = EgressT;

/** Egress use cases: request, read, review, withdraw, download, release record. */
import { type Actor, hasRole, requireRole } from "../actor";
import { ConflictError, ForbiddenError, NotFoundError } from "../errors";
import type { Deps, Versioned } from "../ports";
import type { Page } from "../schema-common";
import { audited, recordRefusal, requireRoleAudited, retryOnConflict } from "../usecase";
import { collect } from "../workspace/objects";
import { createLinks, redeem } from "./downloads";
import { egressEvent, egressTransition } from "./lifecycle";
import { releaseRecord } from "./release-record";
import { createRequest } from "./request";
import { review } from "./review";
import type { EgressStatus, EgressRequest as EgressT } from "./schema";
import { readSnapshot } from "./snapshot";

export * from "./checks";
export type { DownloadGrant, DownloadLink } from "./downloads";
export * from "./lifecycle";
export * from "./release-record";
export * from "./schema";

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
): Promise<Page<EgressT>> {
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
  return { items: res.items.map((v) => v.item), next: res.next };
}

async function get(deps: Pick<Deps, "store">, actor: Actor, id: string): Promise<EgressT> {
  return (await visibleRequest(deps, actor, id, "egress.read")).item;
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
      if (v.item.requester !== actor.sub) {
        throw new ForbiddenError("egress.not_requester", "only the requester can withdraw a request");
      }
      if (v.item.status !== "pending_review") {
        throw new ConflictError(
          "egress.decided",
          `egress request ${id} is ${v.item.status}: it can no longer be withdrawn`,
        );
      }
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
  review,
  downloads: createLinks,
  redeem,
  releaseRecord: record,
};
export type Egress = EgressT;

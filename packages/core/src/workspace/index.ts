/** Workspace use cases: launch, provision, read, extend, terminate, expire. */
import { type Actor, hasRole, requireRole } from "../actor";
import { ConflictError, DomainError, ForbiddenError, NotFoundError, ValidationError } from "../errors";
import { listAll } from "../paging";
import { namesResearcher, visiblePermit } from "../permit";
import { permitStatus } from "../permit/status";
import type { Deps } from "../ports";
import type { Page } from "../schema-common";
import {
  audited,
  commitCreation,
  type Idempotency,
  idempotencyRecord,
  idempotentReplay,
  markRecorded,
  mustGet,
  requireRoleAudited,
  retryOnConflict,
} from "../usecase";
import { visibleWorkspace } from "./access";
import { beginStop, completeStop, transition, wsEvent } from "./lifecycle";
import { workspacePrefix } from "./objects";
import { type ExtendInput, type LaunchInput, LIVE_STATUSES, type Workspace as WorkspaceT } from "./schema";
import { type Staged, stageDatasets, stagedFiles } from "./staging";

export * from "./access";
export * from "./files";
export * from "./lifecycle";
export * from "./objects";
export * from "./outputs";
export * from "./paths";
export * from "./schema";
export * from "./staging";

const HOUR_MS = 3_600_000;

/** What the API shows: the manifest only once the workspace is ready. */
export function workspaceView(ws: WorkspaceT): WorkspaceT {
  const { manifest, provisionRetriedAt: _retried, outputsArchiveAttempts: _attempts, ...rest } = ws;
  return ws.status === "ready" ? { ...rest, manifest: manifest ?? [] } : rest;
}

async function launch(
  deps: Deps,
  actor: Actor,
  permitId: string,
  input: LaunchInput,
  idem?: Idempotency,
): Promise<{ workspace: WorkspaceT; replayed: boolean }> {
  const ctx = { actor, action: "workspace.launched", target: `permit/${permitId}`, details: { permitId } };
  return audited(deps.store, ctx, async () => {
    requireRole(actor, "launch a workspace", "researcher");
    deps.runtime.assertAvailable();
    const previous = await idempotentReplay(deps, actor, idem);
    const result = previous
      ? { workspace: await mustGet(deps.store, "workspace", previous), replayed: true }
      : await create();
    const ws = result.workspace;
    if (!result.replayed) {
      try {
        await deps.scheduler.scheduleExpiry(ws.id, new Date(ws.expiresAt));
      } finally {
        // Provisioned even when scheduling failed: the caller's retry (same key) schedules it, the sweeper
        // expires it meanwhile; a workspace left `provisioning` would wait for nothing until it expired.
        deps.dispatcher.dispatch({ type: "workspace.provision", workspaceId: ws.id });
      }
    } else if (ws.status === "provisioning" || ws.status === "ready") {
      // The retry of a launch whose scheduling failed: (re)schedule its expiry (idempotent).
      await deps.scheduler.scheduleExpiry(ws.id, new Date(ws.expiresAt));
    }
    return { workspace: workspaceView(ws), replayed: result.replayed };
  });

  async function create(): Promise<{ workspace: WorkspaceT; replayed: boolean }> {
    return retryOnConflict(async () => {
      const permit = await visiblePermit(deps, actor, permitId, "workspace.launched");
      const p = permit.item;
      if (!namesResearcher(p, actor.sub)) {
        throw new ForbiddenError("permit.not_named", `you are not a researcher named on permit ${permitId}`);
      }
      const now = deps.clock.now();
      const status = permitStatus(p, now);
      if (status !== "active") throw new ConflictError("permit.not_active", `permit ${permitId} is ${status}`);
      if (input.hours > p.limits.maxWorkspaceHours) {
        throw new ValidationError(
          "workspace.hours_over_limit",
          `hours must be at most ${p.limits.maxWorkspaceHours} under this permit`,
          [{ path: "hours", message: `must be at most ${p.limits.maxWorkspaceHours}` }],
        );
      }
      const live = await listAll((page) => deps.store.list("workspace", { permitId, status: LIVE_STATUSES }, page));
      if (live.length >= p.limits.maxConcurrentWorkspaces) {
        throw new ConflictError(
          "permit.workspace_limit",
          `permit ${permitId} already has ${live.length} of ${p.limits.maxConcurrentWorkspaces} workspaces running; terminate one first`,
        );
      }
      const expiresAt = new Date(Math.min(now.getTime() + input.hours * HOUR_MS, Date.parse(p.validUntil)));
      const ws: WorkspaceT = {
        id: deps.ids.next("ws"),
        permitId,
        owner: actor.sub,
        status: "provisioning",
        createdAt: now.toISOString(),
        expiresAt: expiresAt.toISOString(),
        terminatedAt: null,
        terminationReason: null,
        isolation: deps.runtime.isolation,
      };
      // Rewriting the permit (same content, next version) makes concurrent launches conflict, so the
      // workspace count above cannot be exceeded by a race.
      return commitCreation(deps, actor, idem, async () => {
        await deps.store.commit({
          writes: [
            { kind: "workspace", item: ws, expectedVersion: null },
            { kind: "permit", item: p, expectedVersion: permit.version },
          ],
          audit: [wsEvent(actor.sub, "workspace.launched", ws, { hours: input.hours, expiresAt: ws.expiresAt })],
          idempotency: idempotencyRecord(actor, idem, ws.id, now),
        });
        return ws.id;
      }).then(async (r) => ({
        workspace: r.replayed ? await mustGet(deps.store, "workspace", r.id) : ws,
        replayed: r.replayed,
      }));
    });
  }
}

const PROVISIONER = "system:provisioner";

/**
 * Stages the permit's datasets (pseudonymised, encrypted), opens the workspace's read-only view of them in
 * the runtime and marks it ready, or failed with a reason and nothing left behind. An attempt that throws
 * (its reads failed, or its outcome could not be recorded) is audited and left to the caller to retry.
 */
async function provision(deps: Deps, workspaceId: string): Promise<WorkspaceT | null> {
  const actor = { sub: PROVISIONER, roles: [] };
  const ctx = { actor, action: "workspace.provisioned", target: `workspace/${workspaceId}`, details: { workspaceId } };
  return audited(deps.store, ctx, () => provisionOnce(deps, workspaceId));
}

async function provisionOnce(deps: Deps, workspaceId: string): Promise<WorkspaceT | null> {
  const v = await deps.store.get("workspace", workspaceId);
  if (!v || v.item.status !== "provisioning") return v?.item ?? null;
  const ws = v.item;
  const permit = await deps.store.get("permit", ws.permitId);
  if (!permit) throw new NotFoundError("permit", ws.permitId);
  const datasets = [];
  for (const id of permit.item.datasets) {
    const ds = await deps.store.get("dataset", id);
    if (!ds) throw new NotFoundError("dataset", id);
    datasets.push(ds.item);
  }
  // A failed provision keeps nothing: staged files, identifier set, all of the workspace's objects.
  const staging = workspacePrefix(ws.permitId, workspaceId);
  let staged: Staged | null = null;
  let failure: string | null = null;
  let unexpected: unknown = null;
  try {
    staged = await stageDatasets(deps, ws, datasets);
    await deps.runtime.start(
      {
        workspaceId,
        permitId: ws.permitId,
        owner: ws.owner,
        expiresAt: ws.expiresAt,
        limits: { cpus: permit.item.limits.cpus, memoryMiB: permit.item.limits.memoryMiB },
      },
      staged.files,
    );
  } catch (err) {
    // Our own errors carry safe messages; anything else may hold paths or values: it goes to the server
    // log (rethrown below), and the researcher and the audit trail get a generic reason.
    if (err instanceof DomainError) failure = err.message;
    else {
      failure = "the workspace could not be prepared (details are in the server log)";
      unexpected = err;
    }
    await deps.runtime.stop(workspaceId).catch(() => {}); // retried in `finally`
    await deps.objects.deletePrefix(staging).catch(() => {});
  }
  let result: WorkspaceT | null;
  try {
    result = await retryOnConflict(async () => {
      const cur = await deps.store.get("workspace", workspaceId);
      if (!cur || cur.item.status !== "provisioning") return cur?.item ?? null;
      const now = deps.clock.now().toISOString();
      const item = failure
        ? transition(cur.item, "failed", { failureReason: failure, terminationReason: "error", terminatedAt: now })
        : transition(cur.item, "ready", { manifest: staged?.manifest ?? [] });
      const event = failure
        ? wsEvent(PROVISIONER, "workspace.failed", item, { reason: failure }, "failed")
        : wsEvent(PROVISIONER, "workspace.ready", item, {
            files: staged?.manifest.length ?? 0,
            bytes: staged?.manifest.reduce((n, f) => n + f.bytes, 0) ?? 0,
            identifiers: staged?.identifiers ?? 0,
            isolation: deps.runtime.isolation,
          });
      await deps.store.commit({ writes: [{ kind: "workspace", item, expectedVersion: cur.version }], audit: [event] });
      return item;
    });
  } finally {
    // Terminated (or failed) while we were starting it: make sure nothing of it stays behind.
    const end = await deps.store.get("workspace", workspaceId);
    if (end && end.item.status !== "ready" && end.item.status !== "provisioning") {
      await deps.runtime.stop(workspaceId);
      await deps.scheduler.cancel(workspaceId);
      if (end.item.status === "failed") await deps.objects.deletePrefix(staging);
    }
  }
  if (unexpected) {
    markRecorded(unexpected); // as `workspace.failed` above
    throw unexpected;
  }
  return result;
}

/**
 * Rebuilds the runtime view of a ready workspace the runtime lost (its plaintext lives in memory-backed
 * storage, gone after a reboot). `home/` and live `outputs/` are lost with it; the staged data is not.
 */
async function restoreView(deps: Deps, workspaceId: string): Promise<boolean> {
  const v = await deps.store.get("workspace", workspaceId);
  if (!v || v.item.status !== "ready" || (await deps.runtime.exists(workspaceId))) return false;
  const permit = await deps.store.get("permit", v.item.permitId);
  if (!permit) throw new NotFoundError("permit", v.item.permitId);
  await deps.runtime.start(
    {
      workspaceId,
      permitId: v.item.permitId,
      owner: v.item.owner,
      expiresAt: v.item.expiresAt,
      limits: { cpus: permit.item.limits.cpus, memoryMiB: permit.item.limits.memoryMiB },
    },
    await stagedFiles(deps, v.item),
  );
  return true;
}

async function list(
  deps: Pick<Deps, "store">,
  actor: Actor,
  query: { limit: number; cursor?: string; permitId?: string; status?: WorkspaceT["status"] },
): Promise<Page<WorkspaceT>> {
  await requireRoleAudited(
    deps.store,
    { actor, action: "workspace.list", target: "workspace/*" },
    "list workspaces",
    "researcher",
    "admin",
  );
  const filter = {
    ...(hasRole(actor, "admin") ? {} : { owner: actor.sub }),
    ...(query.permitId ? { permitId: query.permitId } : {}),
    ...(query.status ? { status: [query.status] } : {}),
  };
  const res = await deps.store.list("workspace", filter, query);
  return { items: res.items.map((v) => workspaceView(v.item)), next: res.next };
}

async function get(deps: Pick<Deps, "store">, actor: Actor, id: string): Promise<WorkspaceT> {
  await requireRoleAudited(
    deps.store,
    { actor, action: "workspace.read", target: `workspace/${id}` },
    "read a workspace",
    "researcher",
    "admin",
  );
  return workspaceView((await visibleWorkspace(deps, actor, id, "workspace.read")).item);
}

async function extend(deps: Deps, actor: Actor, id: string, input: ExtendInput): Promise<WorkspaceT> {
  const ctx = { actor, action: "workspace.extended", target: `workspace/${id}`, details: { workspaceId: id } };
  return audited(deps.store, ctx, async () => {
    requireRole(actor, "extend a workspace", "researcher", "admin");
    const item = await retryOnConflict(async () => {
      const v = await visibleWorkspace(deps, actor, id, "workspace.extended");
      const ws = v.item;
      if (ws.status !== "ready" && ws.status !== "provisioning") {
        throw new ConflictError("workspace.not_live", `workspace ${id} is ${ws.status}`);
      }
      if (Date.parse(ws.expiresAt) <= deps.clock.now().getTime()) {
        throw new ConflictError(
          "workspace.expired",
          `workspace ${id} expired at ${ws.expiresAt} and is being terminated`,
        );
      }
      const permit = await deps.store.get("permit", ws.permitId);
      if (!permit) throw new NotFoundError("permit", ws.permitId);
      const now = deps.clock.now();
      const status = permitStatus(permit.item, now);
      if (status !== "active") throw new ConflictError("permit.not_active", `permit ${ws.permitId} is ${status}`);
      const wanted = Date.parse(ws.expiresAt) + input.hours * HOUR_MS;
      const byLimit = Date.parse(ws.createdAt) + permit.item.limits.maxWorkspaceHours * HOUR_MS;
      const byPermit = Date.parse(permit.item.validUntil);
      if (wanted > byLimit || wanted > byPermit) {
        const latest = new Date(Math.min(byLimit, byPermit)).toISOString();
        throw new ConflictError(
          "workspace.extend_beyond_limit",
          `the workspace can run until ${latest} at the latest (permit limit ${permit.item.limits.maxWorkspaceHours} h from creation, permit valid until ${permit.item.validUntil})`,
        );
      }
      const next: WorkspaceT = { ...ws, expiresAt: new Date(wanted).toISOString() };
      await deps.store.commit({
        writes: [{ kind: "workspace", item: next, expectedVersion: v.version }],
        audit: [wsEvent(actor.sub, "workspace.extended", next, { hours: input.hours, expiresAt: next.expiresAt })],
      });
      return next;
    });
    await deps.scheduler.scheduleExpiry(item.id, new Date(item.expiresAt));
    return workspaceView(item);
  });
}

async function terminate(deps: Deps, actor: Actor, id: string): Promise<WorkspaceT> {
  const ctx = { actor, action: "workspace.stopping", target: `workspace/${id}`, details: { workspaceId: id } };
  return audited(deps.store, ctx, async () => {
    requireRole(actor, "terminate a workspace", "researcher", "admin");
    const v = await visibleWorkspace(deps, actor, id, "workspace.stopping");
    const reason = v.item.owner === actor.sub ? "user" : "admin";
    if (v.item.status !== "ready" && v.item.status !== "provisioning") {
      throw new ConflictError("workspace.not_live", `workspace ${id} is already ${v.item.status}`);
    }
    if (!(await beginStop(deps, actor.sub, v, reason))) {
      throw new ConflictError("workspace.not_live", `workspace ${id} is already being terminated`);
    }
    return workspaceView((await completeStop(deps, actor.sub, id)) ?? (await mustGet(deps.store, "workspace", id)));
  });
}

/**
 * Dispatches provisioning again when it has been pending `afterMs` since the launch or the last retry (a lost
 * dispatch, or a provisioning run that died). The retry time is committed first, conditionally, so racing
 * sweepers dispatch once, and with `afterMs` above the longest run two runs never overlap.
 * @returns whether it dispatched.
 */
async function retryProvisioning(deps: Deps, id: string, afterMs: number, actorSub: string): Promise<boolean> {
  const dispatched = await retryOnConflict(async () => {
    const v = await deps.store.get("workspace", id);
    if (!v || v.item.status !== "provisioning") return false;
    const since = Date.parse(v.item.provisionRetriedAt ?? v.item.createdAt);
    const now = deps.clock.now();
    if (since + afterMs > now.getTime()) return false;
    const item: WorkspaceT = { ...v.item, provisionRetriedAt: now.toISOString() };
    await deps.store.commit({
      writes: [{ kind: "workspace", item, expectedVersion: v.version }],
      audit: [wsEvent(actorSub, "workspace.provision_retried", item, { pendingSince: new Date(since).toISOString() })],
    });
    return true;
  });
  if (dispatched) deps.dispatcher.dispatch({ type: "workspace.provision", workspaceId: id });
  return dispatched;
}

const EXPIRY = "system:expiry";

/** Terminates the workspace if its time is up (timer or sweeper). @returns whether it was terminated. */
async function expire(deps: Deps, id: string, actorSub = EXPIRY): Promise<boolean> {
  const v = await deps.store.get("workspace", id);
  if (!v) return false;
  const now = deps.clock.now();
  if (v.item.status === "stopping") {
    await completeStop(deps, actorSub, id);
    return true;
  }
  if (!LIVE_STATUSES.includes(v.item.status)) return false;
  if (Date.parse(v.item.expiresAt) > now.getTime()) {
    await deps.scheduler.scheduleExpiry(id, new Date(v.item.expiresAt));
    return false;
  }
  const permit = await deps.store.get("permit", v.item.permitId);
  const reason = permit && permit.item.validUntil <= now.toISOString() ? "permit_expired" : "expired";
  if (await beginStop(deps, actorSub, v, reason)) await completeStop(deps, actorSub, id);
  else return expire(deps, id, actorSub);
  return true;
}

export const Workspace = {
  launch,
  provision,
  retryProvisioning,
  restoreView,
  list,
  get,
  extend,
  terminate,
  expire,
};
/** The type shares the name of the use cases: `Workspace.launch(...)` returns a `Workspace`. */
export type Workspace = WorkspaceT;

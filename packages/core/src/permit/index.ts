/** Permit use cases: admins create, suspend, reinstate and revoke; suspension, revocation and expiry cascade. */
import { type Actor, hasRole, requireRole } from "../actor";
import { cancelOpenRequests } from "../egress/lifecycle";
import { ConflictError, DomainError, NotFoundError, ValidationError } from "../errors";
import { listAll } from "../paging";
import type { Deps, Versioned } from "../ports";
import type { Page } from "../schema-common";
import { assertTransition } from "../state-machine";
import {
  audited,
  commitCreation,
  type Idempotency,
  idempotencyRecord,
  idempotentReplay,
  mustGet,
  recordRefusal,
  requireRoleAudited,
  retryOnConflict,
} from "../usecase";
import { completeStop, stoppingChange } from "../workspace/lifecycle";
import { permitPrefix } from "../workspace/objects";
import { LIVE_STATUSES, type TerminationReason, type Workspace } from "../workspace/schema";
import type { AdminState, PermitInput, PermitRecord, Permit as PermitT } from "./schema";
import { PERMIT_ADMIN_TRANSITIONS, permitStatus, permitView } from "./status";

export * from "./schema";
export * from "./status";

type D = Pick<Deps, "store" | "clock" | "runtime" | "scheduler" | "keys" | "objects" | "policy">;

const target = (id: string) => `permit/${id}`;

async function create(
  deps: D,
  actor: Actor,
  input: PermitInput,
  idem?: Idempotency,
): Promise<{ permit: PermitT; replayed: boolean }> {
  return audited(deps.store, { actor, action: "permit.created", target: target(input.id) }, async () => {
    requireRole(actor, "create a permit", "admin");
    const previous = await idempotentReplay(deps, actor, idem);
    if (previous)
      return { permit: permitView(await mustGet(deps.store, "permit", previous), deps.clock.now()), replayed: true };
    if (await deps.store.get("permit", input.id)) {
      throw new ConflictError("permit.exists", `permit ${input.id} already exists`);
    }
    const missing = [];
    for (const ds of input.datasets) if (!(await deps.store.get("dataset", ds))) missing.push(ds);
    if (missing.length > 0) {
      throw new ValidationError("permit.unknown_dataset", `unknown dataset(s): ${missing.join(", ")}`, [
        { path: "datasets", message: `unknown dataset(s): ${missing.join(", ")}` },
      ]);
    }
    const now = deps.clock.now();
    const record: PermitRecord = {
      ...input,
      adminState: "normal",
      stateReason: null,
      createdAt: now.toISOString(),
      createdBy: actor.sub,
      updatedAt: now.toISOString(),
      expiryProcessedAt: null,
    };
    const { id, replayed } = await commitCreation(deps, actor, idem, async () => {
      // Created first: an orphan key (if the commit fails) holds nothing; a permit without one could not stage.
      await deps.keys.createPermitKey(record.id);
      await deps.store.commit({
        writes: [{ kind: "permit", item: record, expectedVersion: null }],
        audit: [
          {
            actor: actor.sub,
            action: "permit.created",
            target: target(record.id),
            outcome: "allowed",
            details: {
              permitId: record.id,
              purpose: record.purpose,
              datasets: record.datasets,
              researchers: record.researchers,
              validFrom: record.validFrom,
              validUntil: record.validUntil,
            },
          },
        ],
        idempotency: idempotencyRecord(actor, idem, record.id, now),
      });
      return record.id;
    });
    return { permit: permitView(replayed ? await mustGet(deps.store, "permit", id) : record, now), replayed };
  });
}

const seesAll = (actor: Actor) => hasRole(actor, "admin", "reviewer", "auditor");
export const namesResearcher = (p: PermitRecord, sub: string) => p.researchers.includes(sub);

/**
 * Loads a permit the actor may see. A permit they may not see is a 404 (audited as denied), as if absent.
 */
export async function visiblePermit(
  deps: Pick<Deps, "store">,
  actor: Actor,
  id: string,
  action: string,
): Promise<Versioned<PermitRecord>> {
  const found = await deps.store.get("permit", id);
  if (!found) throw new NotFoundError("permit", id);
  if (!seesAll(actor) && !(hasRole(actor, "researcher") && namesResearcher(found.item, actor.sub))) {
    const err = new NotFoundError("permit", id);
    await recordRefusal(deps.store, { actor, action, target: target(id), details: { permitId: id } }, err);
    throw err;
  }
  return found;
}

async function list(deps: D, actor: Actor, page: { limit: number; cursor?: string }): Promise<Page<PermitT>> {
  await requireRoleAudited(
    deps.store,
    { actor, action: "permit.list", target: "permit/*" },
    "list permits",
    "admin",
    "reviewer",
    "auditor",
    "researcher",
  );
  const filter = seesAll(actor) ? {} : { researcher: actor.sub };
  const res = await deps.store.list("permit", filter, page);
  const now = deps.clock.now();
  return { items: res.items.map((v) => permitView(v.item, now)), next: res.next };
}

async function get(deps: D, actor: Actor, id: string): Promise<PermitT> {
  await requireRoleAudited(
    deps.store,
    { actor, action: "permit.read", target: `permit/${id}` },
    "read a permit",
    "admin",
    "reviewer",
    "auditor",
    "researcher",
  );
  return permitView((await visiblePermit(deps, actor, id, "permit.read")).item, deps.clock.now());
}

async function liveWorkspaces(deps: Pick<Deps, "store">, permitId: string): Promise<Versioned<Workspace>[]> {
  return listAll((page) => deps.store.list("workspace", { permitId, status: LIVE_STATUSES }, page));
}

/**
 * Commits a permit change together with moving every live workspace of the permit to `stopping`, then
 * stops them. One transaction: the permit cannot be revoked while a workspace stays ready.
 */
async function cascade(
  deps: D,
  actorSub: string,
  permitId: string,
  change: (p: PermitRecord) => { item: PermitRecord; action: string; details: Record<string, string | null> } | null,
  reason: TerminationReason | null,
): Promise<{ item: PermitRecord; changed: boolean }> {
  const { item, stopped, changed } = await retryOnConflict(async () => {
    const current = await deps.store.get("permit", permitId);
    if (!current) throw new NotFoundError("permit", permitId);
    const next = change(current.item);
    if (!next) return { item: current.item, stopped: [], changed: false };
    const { item, action, details } = next;
    const workspaces = reason ? await liveWorkspaces(deps, permitId) : [];
    const toStop = workspaces.filter((w) => w.item.status !== "stopping");
    const changes = toStop.map((w) => stoppingChange(actorSub, w, reason as TerminationReason));
    await deps.store.commit({
      writes: [{ kind: "permit", item, expectedVersion: current.version }, ...changes.map((c) => c.write)],
      audit: [
        { actor: actorSub, action, target: target(permitId), outcome: "allowed", details: { permitId, ...details } },
        ...changes.map((c) => c.event),
      ],
    });
    return { item, stopped: workspaces.map((w) => w.item.id), changed: true };
  });
  for (const id of stopped) await completeStop(deps, actorSub, id);
  return { item, changed };
}

function adminChange(deps: D, actor: Actor, id: string, to: AdminState, verb: string, reason?: string) {
  const action = `permit.${verb}`;
  const imperative = { suspended: "suspend", reinstated: "reinstate", revoked: "revoke" }[verb] ?? verb;
  return audited(deps.store, { actor, action, target: target(id), details: { permitId: id } }, async () => {
    requireRole(actor, `${imperative} a permit`, "admin");
    await visiblePermit(deps, actor, id, action);
    const cascadeReason: TerminationReason | null =
      to === "revoked" ? "permit_revoked" : to === "suspended" ? "permit_suspended" : null;
    const { item } = await cascade(
      deps,
      actor.sub,
      id,
      (p) => {
        const status = permitStatus(p, deps.clock.now());
        if (status === "expired" && to !== "revoked") {
          throw new ConflictError("permit.expired", `permit ${id} has expired; only revoke is possible`);
        }
        assertTransition("permit", PERMIT_ADMIN_TRANSITIONS, p.adminState, to);
        const updated: PermitRecord = {
          ...p,
          adminState: to,
          stateReason: reason ?? null,
          updatedAt: deps.clock.now().toISOString(),
        };
        return { item: updated, action, details: { reason: reason ?? null, from: status } };
      },
      cascadeReason,
    );
    return permitView(item, deps.clock.now());
  });
}

const suspend = (deps: D, actor: Actor, id: string, reason: string) =>
  adminChange(deps, actor, id, "suspended", "suspended", reason);
const reinstate = (deps: D, actor: Actor, id: string, reason?: string) =>
  adminChange(deps, actor, id, "normal", "reinstated", reason);
async function revoke(deps: D, actor: Actor, id: string, reason: string) {
  const permit = await adminChange(deps, actor, id, "revoked", "revoked", reason);
  // The revoke is committed whatever happens next. If shredding cannot finish now (a workspace still
  // stopping, the database busy), the sweeper retries it and reports the failure; the permit shows no
  // keyDestroyedAt until it is done.
  const shredded = await destroyKey(deps, actor.sub, id, "revoked").catch(async (err: unknown) => {
    // Recorded (the error's code or class only: never a message that could hold data), then left to the sweeper.
    const error = err instanceof DomainError ? err.code : err instanceof Error ? err.name : "unknown";
    await deps.store
      .commit({
        writes: [],
        audit: [
          {
            actor: actor.sub,
            action: "permit.key_destroyed",
            target: target(id),
            outcome: "failed",
            details: { permitId: id, reason: "revoked", error, retriedBy: "sweeper" },
          },
        ],
      })
      .catch(() => {});
    return false;
  });
  return shredded ? permitView(await mustGet(deps.store, "permit", id), deps.clock.now()) : permit;
}

/** Whether the permit's data is due for crypto-shredding: revoked, or expired for longer than the grace. */
export function keyDue(p: PermitRecord, policy: Pick<D["policy"], "keyGraceDays">, now: Date): boolean {
  if (p.keyDestroyedAt) return false;
  if (p.adminState === "revoked") return true;
  return Date.parse(p.validUntil) + policy.keyGraceDays * 86_400_000 <= now.getTime();
}

/**
 * Crypto-shredding: destroys the permit's keys, so everything encrypted under them (staged data, outputs,
 * job logs, egress snapshots) is unrecoverable, then deletes those objects and records it.
 * Idempotent. @returns whether anything was done.
 */
async function destroyKey(deps: D, actorSub: string, id: string, why: "revoked" | "expired"): Promise<boolean> {
  const found = await deps.store.get("permit", id);
  if (!found || found.item.keyDestroyedAt) return false;
  // Live workspaces must be gone first: their plaintext views would outlive the key.
  for (const w of await liveWorkspaces(deps, id)) await completeStop(deps, actorSub, w.item.id);
  if ((await liveWorkspaces(deps, id)).length > 0) {
    // A workspace the cascade has not ended yet (only a failed cascade leaves one): the sweeper ends it
    // and comes back; shredding under a live view would leave its plaintext without a key.
    throw new ConflictError("permit.workspaces_live", `permit ${id} still has live workspaces; retried by the sweeper`);
  }
  // Nothing can leave once the keys are gone: open requests end here (already approved ones stay recorded).
  await cancelOpenRequests(deps, actorSub, id, why === "revoked" ? "permit_revoked" : "permit_data_destroyed");
  const destroyed = await deps.keys.destroyPermitKey(id);
  const objects = await deps.objects.deletePrefix(permitPrefix(id));
  await deps.runtime.releasePermit?.(id);
  const jobCommandsScrubbed = await scrubJobCommands(deps, id);
  return retryOnConflict(async () => {
    const v = await deps.store.get("permit", id);
    if (!v || v.item.keyDestroyedAt) return false;
    const now = deps.clock.now().toISOString();
    await deps.store.commit({
      writes: [
        { kind: "permit", item: { ...v.item, keyDestroyedAt: now, updatedAt: now }, expectedVersion: v.version },
      ],
      audit: [
        {
          actor: actorSub,
          action: "permit.key_destroyed",
          target: target(id),
          outcome: "allowed",
          details: { permitId: id, reason: why, keyExisted: destroyed, objectsDeleted: objects, jobCommandsScrubbed },
        },
      ],
    });
    return true;
  });
}

/** What a job's command becomes once its permit's data is destroyed. */
export const SHREDDED_COMMAND = "[removed with the permit's data]";

/**
 * A job's command may name data values (`--subject P-000123`) and is kept in the clear in the store: once the
 * permit's keys are gone, every command of its jobs is replaced, in transactions of at most 50 jobs.
 * @returns how many were replaced (0 on a retry that finds them done).
 */
async function scrubJobCommands(deps: D, permitId: string): Promise<number> {
  const jobs = await listAll((page) => deps.store.list("job", { permitId }, page));
  const left = jobs.filter((j) => !(j.item.command.length === 1 && j.item.command[0] === SHREDDED_COMMAND));
  for (let i = 0; i < left.length; i += 50) {
    await deps.store.commit({
      writes: left.slice(i, i + 50).map((j) => ({
        kind: "job" as const,
        item: { ...j.item, command: [SHREDDED_COMMAND] },
        expectedVersion: j.version,
      })),
      audit: [],
    });
  }
  return left.length;
}

/**
 * Records the end of a permit's validity once and terminates its workspaces (`permit_expired`).
 * Called by the sweeper. @returns whether anything was done.
 */
async function processExpiry(deps: D, actorSub: string, id: string): Promise<boolean> {
  const { changed } = await cascade(
    deps,
    actorSub,
    id,
    (p) => {
      const now = deps.clock.now().toISOString();
      if (p.expiryProcessedAt || p.validUntil > now) return null;
      return {
        item: { ...p, expiryProcessedAt: now },
        action: "permit.expired",
        details: { validUntil: p.validUntil },
      };
    },
    "permit_expired",
  );
  return changed;
}

export const Permit = { create, list, get, suspend, reinstate, revoke, processExpiry, destroyKey };
export type Permit = PermitT;

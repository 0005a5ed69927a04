/**
 * Helpers every use case shares: auditing both outcomes, retrying lost races, idempotency replay.
 */
import { type Actor, type Role, requireRole } from "./actor";
import type { DetailValue } from "./audit/record";
import { canonicalJson, sha256Hex } from "./audit/record";
import { AuditUnavailableError, ConcurrentUpdateError, ConflictError, DomainError, NotFoundError } from "./errors";
import type { Deps, EntityKind, EntityMap, IdempotencyRecord, Store } from "./ports";

export interface AuditContext {
  actor: Actor;
  action: string;
  target: string;
  details?: Record<string, DetailValue>;
}

/** Records a refused or failed attempt. Used on its own for denied reads. */
export async function recordRefusal(store: Pick<Store, "commit">, ctx: AuditContext, err: DomainError): Promise<void> {
  if (err.audited) return;
  const outcome = err.kind === "forbidden" || err.kind === "not_found" ? "denied" : "failed";
  await store.commit({
    writes: [],
    audit: [
      {
        actor: ctx.actor.sub,
        action: ctx.action,
        target: ctx.target,
        outcome,
        details: { ...ctx.details, code: err.code, reason: err.message },
      },
    ],
  });
  err.audited = true;
}

/** Unexpected errors already in the audit trail: one record per failure, however many wrappers it crosses. */
const recordedUnexpected = new WeakSet<object>();

/**
 * Records an attempt that failed on something other than a DomainError (a cloud service refusing or
 * throttling past its retries, a bug): outcome `failed` with the error's class name only, since its
 * message may hold object keys or values (it goes to the server log with the rethrown error).
 * A failure to append is swallowed: the caller must see the original error.
 */
export async function recordUnexpected(store: Pick<Store, "commit">, ctx: AuditContext, err: unknown): Promise<void> {
  const key = typeof err === "object" && err !== null ? err : null;
  if (key && recordedUnexpected.has(key)) return;
  const name = err instanceof Error && /^[\w.]{1,64}$/.test(err.name) ? err.name : "Error";
  await store
    .commit({
      writes: [],
      audit: [
        {
          actor: ctx.actor.sub,
          action: ctx.action,
          target: ctx.target,
          outcome: "failed",
          details: { ...ctx.details, code: "internal.error", error: name, reason: UNEXPECTED_REASON },
        },
      ],
    })
    .then(
      () => key && recordedUnexpected.add(key),
      () => {},
    );
}

/** Notes that an unexpected error's failure is already in the audit trail (by the use case, in its own words). */
export function markRecorded(err: unknown): void {
  if (typeof err === "object" && err !== null) recordedUnexpected.add(err);
}

/** What the audit trail and the caller are told of an unexpected failure. */
export const UNEXPECTED_REASON = "the action failed unexpectedly (details are in the server log)";

/**
 * Runs a state-changing use case. When it throws a DomainError, a `denied` (403/404) or `failed` record
 * is appended before the error is rethrown; if even that append fails, the caller gets audit.unavailable.
 * Any other error (an AWS call failing past its retries, a bug) is recorded as `failed` and rethrown as it is.
 */
export async function audited<T>(store: Store, ctx: AuditContext, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (!(err instanceof DomainError)) await recordUnexpected(store, ctx, err);
    else if (!(err instanceof AuditUnavailableError)) await recordRefusal(store, ctx, err);
    throw err;
  }
}

/** Retries `fn` when a conditional write lost a race; the next attempt re-reads the state. */
export async function retryOnConflict<T>(fn: () => Promise<T>, attempts = 8): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof ConcurrentUpdateError) || i >= attempts) throw err;
      await new Promise((r) => setTimeout(r, Math.random() * 5 * i));
    }
  }
}

export interface Idempotency {
  key: string;
  scope: string;
  request: unknown;
}

/**
 * @returns the id of the resource an earlier request with the same key created, or null.
 * @throws ConflictError (`idempotency.key_reused`) when the key was used for another request.
 */
export async function idempotentReplay(deps: Pick<Deps, "store">, actor: Actor, idem: Idempotency | undefined) {
  if (!idem) return null;
  const found = await deps.store.getIdempotency(actor.sub, idem.key);
  if (!found) return null;
  if (found.scope !== idem.scope || found.requestHash !== sha256Hex(canonicalJson(idem.request))) {
    throw new ConflictError(
      "idempotency.key_reused",
      "this Idempotency-Key was already used for a different request; use a new key",
    );
  }
  return found.resourceId;
}

export function idempotencyRecord(
  actor: Actor,
  idem: Idempotency | undefined,
  resourceId: string,
  at: Date,
): IdempotencyRecord | undefined {
  if (!idem) return undefined;
  return {
    actor: actor.sub,
    key: idem.key,
    scope: idem.scope,
    requestHash: sha256Hex(canonicalJson(idem.request)),
    resourceId,
    createdAt: at.toISOString(),
  };
}

/**
 * Commits a creation; when it loses the race on its idempotency key to a twin request, replays the
 * twin's result instead of failing.
 */
export async function commitCreation(
  deps: Pick<Deps, "store">,
  actor: Actor,
  idem: Idempotency | undefined,
  commit: () => Promise<string>,
): Promise<{ id: string; replayed: boolean }> {
  try {
    return { id: await commit(), replayed: false };
  } catch (err) {
    if (err instanceof ConcurrentUpdateError && idem) {
      const id = await idempotentReplay(deps, actor, idem);
      if (id) return { id, replayed: true };
    }
    throw err;
  }
}

/** @throws NotFoundError when there is no such item. */
export async function mustGet<K extends EntityKind>(
  store: Pick<Store, "get">,
  kind: K,
  id: string,
): Promise<EntityMap[K]> {
  const found = await store.get(kind, id);
  if (!found) throw new NotFoundError(kind, id);
  return found.item;
}

/**
 * `requireRole` for reads: a refused read is audited as denied (reads that succeed are not audited).
 * @throws ForbiddenError (403)
 */
export async function requireRoleAudited(
  store: Pick<Store, "commit">,
  ctx: { actor: Actor; action: string; target: string },
  what: string,
  ...roles: Role[]
): Promise<void> {
  try {
    requireRole(ctx.actor, what, ...roles);
  } catch (err) {
    await recordRefusal(store, ctx, err as DomainError);
    throw err;
  }
}

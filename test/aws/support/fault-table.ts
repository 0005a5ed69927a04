/**
 * The fault tables: a step of a use case (launch and staging, job start, terminate, egress) is run once on a
 * clean copy of an arranged deployment to record every AWS call it makes; then, for each call #i and each
 * kind of fault (throttling, a hard refusal), the step runs again on a fresh copy with call #i failing.
 * After each faulted run: nothing is orphaned (invariants.ts, while things may still be halfway), the
 * failure is in the audit trail (a `failed`/`denied` record, or the workspace or job `failed` with a
 * reason), and the recovery an operator or the system performs (the same call again, the sweeper) ends
 * in the step's intended result, with nothing orphaned and the audit chain intact.
 */
import {
  type AuditRecord,
  AuditUnavailableError,
  DomainError,
  parseRecord,
  type StoredAuditRecord,
  verifyLog,
} from "@spe/core";
import { describe, expect, it } from "vitest";
import type { LocalDynamo } from "../../../packages/aws/src/dynalite-harness";
import type { FaultKind } from "../../../packages/aws/src/testing/service-errors";
import type { NumberedCall } from "./calls";
import { problems } from "./invariants";
import { AwsWorld, type WorldSnapshot } from "./world";

export interface Step<C> {
  /** Arranges the deployment the step starts from (once, on a clean world); returns what the step needs. */
  arrange(w: AwsWorld): Promise<C>;
  /** The step, as its entrypoints run it. Throws what they would throw. */
  act(w: AwsWorld, ctx: C): Promise<void>;
  /** What the system or the user does next: the same call again, the sweeper, a new launch... */
  recover(w: AwsWorld, ctx: C): Promise<void>;
  /** Asserts the step's intended result once recovered (it happened, once). */
  done(w: AwsWorld, ctx: C): Promise<void>;
  /** The reason of a workspace or job the step left `failed` (how such a failure shows), or null. */
  failure?(w: AwsWorld, ctx: C): Promise<string | null>;
  /**
   * Whether the step's effect is complete although it threw: only its answer was lost (a read after the
   * last write failed). Such a failure changed nothing, so it has nothing to audit.
   */
  effective?(w: AwsWorld, ctx: C): Promise<boolean>;
}

export interface Table<C> {
  step: Step<C>;
  snapshot: WorldSnapshot;
  ctx: C;
  calls: NumberedCall[];
}

const ORDINAL = (n: number) => `${n + 1}${["st", "nd", "rd"][n] ?? "th"}`;

/** `#7 kms:Decrypt (2nd)`: the test's name for a call. */
export const label = (c: NumberedCall) => `#${c.index + 1} ${c.service}:${c.command} (${ORDINAL(c.occurrence)})`;

/** Arranges the step's world once and records the calls of a clean run of the step. */
export async function recordStep<C>(dynamo: LocalDynamo, step: Step<C>): Promise<Table<C>> {
  const base = await AwsWorld.create(dynamo);
  const ctx = await step.arrange(base);
  const snapshot = await base.snapshot();
  const clean = await AwsWorld.create(dynamo, snapshot);
  const mark = clean.calls.mark();
  await step.act(clean, ctx);
  const calls = clean.calls.since(mark);
  await step.done(clean, ctx);
  expect(await problems(clean, { settled: true })).toEqual([]);
  return { step, snapshot, ctx, calls };
}

export async function auditRecords(w: AwsWorld): Promise<AuditRecord[]> {
  const out: AuditRecord[] = [];
  for await (const r of w.a.store.scan() as AsyncIterable<StoredAuditRecord>) out.push(parseRecord(r));
  return out;
}

/** The store itself failed: the audit trail could not be written, by design nothing was (fail closed). */
const storeDown = (err: unknown) =>
  err instanceof AuditUnavailableError ||
  (err instanceof DomainError && (err.code === "store.unavailable" || err.code === "audit.unavailable"));

/** Runs the step with `call` failing with a fault of `kind`, then checks and recovers. */
export async function runFaulted<C>(dynamo: LocalDynamo, t: Table<C>, call: NumberedCall, kind: FaultKind) {
  const w = await AwsWorld.create(dynamo, t.snapshot);
  const auditBefore = (await auditRecords(w)).length;
  const mark = w.calls.mark();
  w.calls.fail(call, kind);
  let error: unknown = null;
  try {
    await t.step.act(w, t.ctx);
  } catch (err) {
    error = err;
  }
  w.calls.clearFaults();
  const made = w.calls.since(mark).filter((c) => c.service === call.service && c.command === call.command);
  expect(made.length, "the faulted call was made").toBeGreaterThan(call.occurrence);

  // Right after the failure, with the step possibly halfway: nothing orphaned.
  expect(await problems(w, { settled: false })).toEqual([]);
  const background = w.backgroundErrors.splice(0);
  const shown = (await t.step.failure?.(w, t.ctx)) ?? null;
  const failed = error !== null || background.length > 0 || shown !== null;
  if (failed && !storeDown(error)) {
    const fresh = (await auditRecords(w)).slice(auditBefore);
    const recorded = fresh.filter((r) => r.outcome === "failed" || r.outcome === "denied");
    const answerOnly = (await t.step.effective?.(w, t.ctx)) ?? false;
    const why = `the failure (${describeError(error ?? background[0]?.err)}) is audited or shown as a failed state`;
    expect(recorded.length > 0 || shown !== null || answerOnly, why).toBe(true);
  }

  await t.step.recover(w, t.ctx);
  await t.step.done(w, t.ctx);
  expect(await problems(w, { settled: true })).toEqual([]);
  expect(await verifyLog(w.a.store, w.a.signer)).toMatchObject({ ok: true });
  return { error, failed };
}

function describeError(err: unknown): string {
  if (err instanceof DomainError) return `${err.code}: ${err.message}`;
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}

/**
 * Writes that carry their own idempotency token (a transaction's ClientRequestToken, RunTask's
 * clientToken): a response lost after they took effect must be retried with the same token, not duplicated.
 */
const TOKENED = new Set(["dynamodb:TransactWriteItems", "ecs:RunTask"]);

/** The table's tests: each call throttled, each call refused, and each tokened write's response lost. */
export function describeFaults<C>(name: string, dynamo: LocalDynamo, table: Table<C>): void {
  describe.each(["throttle", "hard"] as const)(`${name}, %s at each AWS call`, (kind) => {
    it.each(table.calls.map((c) => [label(c), c] as const))("%s", async (_, call) => {
      await runFaulted(dynamo, table, call, kind);
    });
  });
  const tokened = table.calls.filter((c) => TOKENED.has(`${c.service}:${c.command}`));
  describe(`${name}, response lost after each tokened write`, () => {
    it.each(tokened.map((c) => [label(c), c] as const))("%s", async (_, call) => {
      await runFaulted(dynamo, table, call, "lost");
    });
  });
}

/**
 * Verification of the audit chain and its seals. Runs against any AuditLog (server) or a data directory
 * opened read-only (offline CLI). Detects an edited record (hash mismatch), a deleted or reordered one
 * (seq gap, broken prevHash link), and a truncated tail or rewritten chain (seal mismatch).
 */
import type { AuditLog, Signer } from "../ports";
import { GENESIS_HASH, type StoredAuditRecord, sha256Hex } from "./record";
import { type Seal, sealBody, sealHash } from "./seal";

export type VerifyResult =
  | { ok: true; count: number; head: string; sealed: { count: number; at: string } | null }
  | { ok: false; count: number; brokenAt: number; reason: string };

type Verifier = Pick<Signer, "verify">;

/** Checks the seals' own chain and signatures; returns the first problem, if any. */
async function checkSeals(seals: Seal[], verifier: Verifier): Promise<{ seal: Seal; reason: string } | null> {
  let prev = GENESIS_HASH;
  for (const [i, seal] of seals.entries()) {
    if (seal.n !== i + 1) return { seal, reason: `seal ${i + 1} is missing or out of order` };
    if (seal.prevSealHash !== prev) return { seal, reason: `seal ${seal.n} does not chain to seal ${seal.n - 1}` };
    if (!(await verifier.verify(sealBody(seal), seal.signature, seal.keyId))) {
      return { seal, reason: `seal ${seal.n} has an invalid signature` };
    }
    prev = sealHash(seal);
  }
  return null;
}

/** Pulls `"prevHash":"<64 hex>"` and `"seq":N` out of a canonical body without a full parse (hot loop). */
function linkFields(body: string): { prevHash: string | undefined; seq: number | undefined } {
  const p = body.lastIndexOf('"prevHash":"');
  const s = body.lastIndexOf('"seq":');
  const prevHash = p < 0 ? undefined : body.slice(p + 12, p + 76);
  const seq = s < 0 ? undefined : Number.parseInt(body.slice(s + 6), 10);
  return { prevHash, seq };
}

export async function verifyRecords(
  records: AsyncIterable<StoredAuditRecord> | Iterable<StoredAuditRecord>,
  seals: Seal[],
  verifier: Verifier,
): Promise<VerifyResult> {
  const sealProblem = await checkSeals(seals, verifier);
  if (sealProblem) return { ok: false, count: 0, brokenAt: sealProblem.seal.count, reason: sealProblem.reason };
  const sealedHeads = new Map(seals.map((s) => [s.count, s]));

  let expected = 1;
  let prev = GENESIS_HASH;
  /** Checks one record (the hot loop): null when it is sound, else what is wrong with it. */
  const problem = (r: StoredAuditRecord): string | null => {
    if (r.seq !== expected) return `record ${expected} is missing (next stored record is ${r.seq})`;
    if (sha256Hex(r.body) !== r.hash) return `record ${expected} was altered: its hash does not match its content`;
    // The body is canonical JSON, whose keys are sorted: the top-level "prevHash" and "seq" come after
    // "details" (only the string "target" follows), so searching from the end cannot hit a key nested in
    // details, and JSON escapes quotes inside strings, so no string value can forge `"seq":` either.
    // Fast path: `"prevHash":"<prev>","seq":<expected>,` at the last "prevHash" key.
    const p = r.body.lastIndexOf('"prevHash":"');
    if (p < 0 || !r.body.startsWith(prev, p + 12) || !r.body.startsWith(`","seq":${expected},`, p + 76)) {
      const link = linkFields(r.body);
      if (link.seq !== expected) return `record ${expected} holds seq ${link.seq}: records were reordered`;
      return `record ${expected} does not link to record ${expected - 1}`;
    }
    const sealed = sealedHeads.get(expected);
    if (sealed && sealed.headHash !== r.hash) {
      return `record ${expected} differs from the head signed by seal ${sealed.n}: the chain was rewritten`;
    }
    prev = r.hash;
    expected++;
    return null;
  };
  let reason: string | null = null;
  // A synchronous source (SQLite) is walked without a microtask per record.
  if (Symbol.iterator in records) {
    for (const r of records) {
      reason = problem(r);
      if (reason !== null) break;
    }
  } else {
    for await (const r of records) {
      reason = problem(r);
      if (reason !== null) break;
    }
  }
  if (reason !== null) return { ok: false, count: expected - 1, brokenAt: expected, reason };
  const count = expected - 1;
  const last = seals.at(-1);
  if (last && last.count > count) {
    return {
      ok: false,
      count,
      brokenAt: count + 1,
      reason: `seal ${last.n} signed ${last.count} records but only ${count} remain: the log was truncated`,
    };
  }
  return { ok: true, count, head: prev, sealed: last ? { count: last.count, at: last.at } : null };
}

export async function verifyLog(audit: AuditLog, verifier: Verifier): Promise<VerifyResult> {
  return verifyRecords(audit.scan(), await audit.seals(), verifier);
}

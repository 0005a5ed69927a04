/**
 * Seals: signed digests over the chain head, each chaining to the previous seal (as CloudTrail's digest
 * files do). A seal says "the log had `count` records and the last one hashed to `headHash`", so removing
 * records from the tail, or rewriting the whole chain, no longer verifies against the signatures.
 */
import type { AuditLog, Clock, Signer } from "../ports";
import { canonicalJson, GENESIS_HASH, sha256Hex } from "./record";

export interface Seal {
  /** 1, 2, 3, ... */
  n: number;
  at: string;
  count: number;
  headHash: string;
  /** Hash of the previous seal's signed body (GENESIS_HASH for the first). */
  prevSealHash: string;
  keyId: string;
  /** base64 DER ECDSA signature over `sealBody(seal)`. */
  signature: string;
}

export const sealBody = (s: Omit<Seal, "signature">): string =>
  canonicalJson({
    n: s.n,
    at: s.at,
    count: s.count,
    headHash: s.headHash,
    prevSealHash: s.prevSealHash,
    keyId: s.keyId,
  });

export const sealHash = (s: Omit<Seal, "signature">): string => sha256Hex(sealBody(s));

/**
 * Signs the current head if it moved since the last seal.
 * @returns the new seal, or null when there was nothing new to seal.
 */
export async function sealHead(deps: { audit: AuditLog; signer: Signer; clock: Clock }): Promise<Seal | null> {
  const [head, seals] = await Promise.all([deps.audit.head(), deps.audit.seals()]);
  const last = seals.at(-1);
  if (head.count === 0 || (last && last.count === head.count)) return null;
  const unsigned = {
    n: (last?.n ?? 0) + 1,
    at: deps.clock.now().toISOString(),
    count: head.count,
    headHash: head.hash,
    prevSealHash: last ? sealHash(last) : GENESIS_HASH,
    keyId: deps.signer.keyId,
  };
  const seal: Seal = { ...unsigned, signature: await deps.signer.sign(sealBody(unsigned)) };
  await deps.audit.appendSeal(seal);
  return seal;
}

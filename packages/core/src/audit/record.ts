/**
 * Audit records and their hash chain.
 *
 * A record is `{ seq, at, actor, action, target, outcome, details, prevHash }` plus `hash`, where
 * `hash = SHA-256(canonical JSON of the record without hash)` and canonical JSON is RFC 8785 (JCS,
 * via the `canonicalize` package). The stored `body` is exactly those canonical bytes, so verification
 * hashes what was written, not a re-serialisation of it. The first record's prevHash is GENESIS_HASH.
 */
import { createHash, hash } from "node:crypto";
import canonicalize from "canonicalize";
import { z } from "zod";

export const GENESIS_HASH = "0".repeat(64);

export const OUTCOMES = ["allowed", "denied", "failed"] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** Values allowed in `details`: identifiers, sizes, hashes, reasons. Never data values. */
export type DetailValue = string | number | boolean | null | string[];

/** What a use case asks to be recorded; the log assigns seq, at, prevHash and hash. */
export interface AuditEvent {
  actor: string;
  action: string;
  target: string;
  outcome: Outcome;
  details: Record<string, DetailValue>;
}

export interface AuditRecord extends AuditEvent {
  seq: number;
  at: string;
  prevHash: string;
  hash: string;
}

/** A record as stored: its canonical body (the hashed bytes) and its hash. */
export interface StoredAuditRecord {
  seq: number;
  hash: string;
  body: string;
}

const ACTION = /^[a-z][a-z_]*(\.[a-z][a-z_]*)+$/;

/** @throws Error when the event lacks actor, action, target or outcome: such a record is refused. */
export function assertAuditEvent(e: AuditEvent): void {
  if (!e.actor || !e.target || !ACTION.test(e.action) || !OUTCOMES.includes(e.outcome)) {
    throw new Error(`refusing an incomplete audit event (action ${JSON.stringify(e.action)})`);
  }
}

/** SHA-256 in hex. One-shot `crypto.hash` (Node >= 20.12) is about twice as fast as createHash for small inputs. */
export const sha256Hex: (s: string | Uint8Array) => string =
  typeof hash === "function" ? (s) => hash("sha256", s, "hex") : (s) => createHash("sha256").update(s).digest("hex");

export function canonicalJson(value: unknown): string {
  const s = canonicalize(value);
  if (s === undefined) throw new Error("value cannot be canonicalised");
  return s;
}

/** Seals an event into the next record of the chain. */
export function chainRecord(event: AuditEvent, seq: number, at: string, prevHash: string): StoredAuditRecord {
  assertAuditEvent(event);
  const body = canonicalJson({ ...event, seq, at, prevHash });
  return { seq, hash: sha256Hex(body), body };
}

export function parseRecord(stored: StoredAuditRecord): AuditRecord {
  return { ...(JSON.parse(stored.body) as Omit<AuditRecord, "hash">), hash: stored.hash };
}

export const AuditQuery = z.strictObject({
  permitId: z.string().max(128).optional(),
  workspaceId: z.string().max(128).optional(),
  actor: z.string().max(128).optional(),
  action: z.string().max(128).optional(),
  after: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(64).optional(),
});
export type AuditQuery = z.infer<typeof AuditQuery>;

/**
 * The audit archive's format (AWS: an S3 bucket with Object Lock in COMPLIANCE mode, written by the
 * archive-audit function from the table's stream): the chain in NDJSON batches and every seal as its own
 * object. The archive alone is enough to verify the trail (`spe audit verify --archive <dir>` over a copy):
 * records are re-assembled by seq, duplicates from stream redelivery must be byte-identical, and the
 * seals' signatures are checked with the audit key's public half.
 */
import type { StoredAuditRecord } from "./record";
import type { Seal } from "./seal";

export const ARCHIVE_CHAIN_PREFIX = "chain/";
export const ARCHIVE_SEALS_PREFIX = "seals/";

const pad = (n: number) => String(n).padStart(12, "0");

/** `chain/<first seq>-<last seq>.ndjson`: names sort in chain order. */
export const chainBatchKey = (first: number, last: number) =>
  `${ARCHIVE_CHAIN_PREFIX}${pad(first)}-${pad(last)}.ndjson`;
export const sealKey = (n: number) => `${ARCHIVE_SEALS_PREFIX}${pad(n)}.json`;

/** One line per record, exactly as stored (the canonical body is what the hash covers). */
export const encodeBatch = (records: StoredAuditRecord[]): string =>
  records.map((r) => `${JSON.stringify({ seq: r.seq, hash: r.hash, body: r.body })}\n`).join("");

function isStored(x: unknown): x is StoredAuditRecord {
  const r = x as StoredAuditRecord;
  return (
    typeof r === "object" &&
    r !== null &&
    Number.isSafeInteger(r.seq) &&
    r.seq > 0 &&
    typeof r.hash === "string" &&
    typeof r.body === "string"
  );
}

export interface AssembledArchive {
  records: StoredAuditRecord[];
  seals: Seal[];
  /** What is wrong with the archive itself (unreadable lines, conflicting copies of a record or seal). */
  problems: string[];
}

/**
 * Re-assembles the chain and the seals from the archive's objects (any order, duplicates allowed).
 * Gaps are not reported here: `verifyRecords` finds them, with the seq that is missing.
 */
export function assembleArchive(
  batches: { name: string; text: string }[],
  sealObjects: { name: string; text: string }[],
): AssembledArchive {
  const problems: string[] = [];
  const bySeq = new Map<number, StoredAuditRecord>();
  for (const b of batches) {
    for (const [i, line] of b.text.split("\n").entries()) {
      if (line.trim() === "") continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        parsed = undefined;
      }
      if (!isStored(parsed)) {
        problems.push(`${b.name} line ${i + 1} is not an audit record`);
        continue;
      }
      const seen = bySeq.get(parsed.seq);
      if (seen && (seen.hash !== parsed.hash || seen.body !== parsed.body)) {
        problems.push(`record ${parsed.seq} is archived twice with different content (${b.name})`);
      } else {
        bySeq.set(parsed.seq, { seq: parsed.seq, hash: parsed.hash, body: parsed.body });
      }
    }
  }
  const byN = new Map<number, Seal>();
  for (const s of sealObjects) {
    let seal: Seal | undefined;
    try {
      seal = JSON.parse(s.text) as Seal;
    } catch {
      seal = undefined;
    }
    if (!seal || !Number.isSafeInteger(seal.n) || typeof seal.signature !== "string") {
      problems.push(`${s.name} is not a seal`);
      continue;
    }
    const seen = byN.get(seal.n);
    if (seen && JSON.stringify(seen) !== JSON.stringify(seal)) {
      problems.push(`seal ${seal.n} is archived twice with different content (${s.name})`);
    } else {
      byN.set(seal.n, seal);
    }
  }
  return {
    records: [...bySeq.values()].sort((a, b) => a.seq - b.seq),
    seals: [...byN.values()].sort((a, b) => a.n - b.n),
    problems,
  };
}

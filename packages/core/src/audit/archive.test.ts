import { describe, expect, it } from "vitest";
import { assembleArchive, chainBatchKey, encodeBatch, sealKey } from "./archive";
import { type AuditEvent, chainRecord, GENESIS_HASH, type StoredAuditRecord } from "./record";
import { verifyRecords } from "./verify";

const ev = (i: number): AuditEvent => ({
  actor: "alice",
  action: "workspace.launched",
  target: `workspace/ws-${i}`,
  outcome: "allowed",
  details: { workspaceId: `ws-${i}` },
});
function chain(n: number): StoredAuditRecord[] {
  const out: StoredAuditRecord[] = [];
  let prev = GENESIS_HASH;
  for (let i = 1; i <= n; i++) {
    const r = chainRecord(ev(i), i, "2026-11-23T10:00:00.000Z", prev);
    out.push(r);
    prev = r.hash;
  }
  return out;
}
const anyKey = { verify: async () => true };

describe("audit archive", () => {
  it("names batches and seals so they sort in chain order", () => {
    expect(chainBatchKey(1, 250)).toBe("chain/000000000001-000000000250.ndjson");
    expect(chainBatchKey(2, 3) < chainBatchKey(10, 11)).toBe(true);
    expect(sealKey(7)).toBe("seals/000000000007.json");
  });

  it("re-assembles out-of-order, redelivered batches into a chain that verifies", async () => {
    const records = chain(10);
    const batches = [
      { name: "b", text: encodeBatch(records.slice(4)) },
      { name: "a", text: encodeBatch(records.slice(0, 5)) }, // record 5 delivered twice
    ];
    const a = assembleArchive(batches, []);
    expect(a.problems).toEqual([]);
    expect(a.records.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(await verifyRecords(a.records, a.seals, anyKey)).toMatchObject({ ok: true, count: 10 });
  });

  it("reports a missing batch as a gap, and a conflicting copy or a garbage line as a problem", async () => {
    const records = chain(6);
    const gap = assembleArchive([{ name: "x", text: encodeBatch([...records.slice(0, 2), ...records.slice(3)]) }], []);
    expect(await verifyRecords(gap.records, [], anyKey)).toMatchObject({ ok: false, brokenAt: 3 });
    const forged = { ...records[1]!, body: records[1]!.body.replace("ws-2", "ws-9") };
    const conflict = assembleArchive(
      [
        { name: "one", text: encodeBatch(records) },
        { name: "two", text: `${encodeBatch([forged])}not json\n` },
      ],
      [{ name: "seals/1.json", text: "{" }],
    );
    expect(conflict.problems).toEqual([
      "record 2 is archived twice with different content (two)",
      "two line 2 is not an audit record",
      "seals/1.json is not a seal",
    ]);
  });
});

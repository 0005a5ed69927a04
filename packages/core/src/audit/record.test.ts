import { describe, expect, it } from "vitest";
import { type AuditEvent, canonicalJson, chainRecord, GENESIS_HASH, sha256Hex } from "./record";
import { verifyRecords } from "./verify";

const event = (i: number): AuditEvent => ({
  actor: "alice",
  action: "workspace.launched",
  target: `workspace/ws-${i}`,
  outcome: "allowed",
  details: { workspaceId: `ws-${i}`, seq: 99, prevHash: "f".repeat(64), note: '"seq":7' },
});
const noSeals = { verify: async () => true };

function chain(n: number) {
  const out = [];
  let prev = GENESIS_HASH;
  for (let i = 1; i <= n; i++) {
    const r = chainRecord(event(i), i, "2026-01-01T00:00:00.000Z", prev);
    out.push(r);
    prev = r.hash;
  }
  return out;
}

describe("audit records", () => {
  it("hash the RFC 8785 canonical JSON of the record without its hash", () => {
    const r = chainRecord(event(1), 1, "2026-01-01T00:00:00.000Z", GENESIS_HASH);
    expect(r.body.startsWith('{"action":"workspace.launched","actor":"alice","at":')).toBe(true);
    expect(r.hash).toBe(sha256Hex(r.body));
    expect(canonicalJson({ b: 1, a: [1e21, "é", 0.1] })).toBe('{"a":[1e+21,"é",0.1],"b":1}');
  });

  it("refuse an event without actor, action, target or outcome", () => {
    expect(() => chainRecord({ ...event(1), actor: "" }, 1, "t", GENESIS_HASH)).toThrow(/incomplete/);
    expect(() => chainRecord({ ...event(1), action: "Launched" }, 1, "t", GENESIS_HASH)).toThrow(/incomplete/);
  });

  it("verify a good chain, undeceived by look-alike keys inside details", async () => {
    expect(await verifyRecords(chain(50), [], noSeals)).toMatchObject({ ok: true, count: 50 });
    expect(await verifyRecords([], [], noSeals)).toEqual({ ok: true, count: 0, head: GENESIS_HASH, sealed: null });
  });

  it("name the first broken seq", async () => {
    const c = chain(10);
    const edited = c.map((r) => (r.seq === 4 ? { ...r, body: r.body.replace("alice", "mallory") } : r));
    expect(await verifyRecords(edited, [], noSeals)).toMatchObject({ ok: false, brokenAt: 4, count: 3 });
    const dropped = c.filter((r) => r.seq !== 7);
    expect(await verifyRecords(dropped, [], noSeals)).toMatchObject({ ok: false, brokenAt: 7 });
    const swapped = c.map((r, i) => (i === 5 ? { ...c[6]!, seq: 6 } : i === 6 ? { ...c[5]!, seq: 7 } : r));
    expect(await verifyRecords(swapped, [], noSeals)).toMatchObject({ ok: false, brokenAt: 6 });
  });
});

/**
 * The audit half of the Store + AuditLog contract (see store-contract.ts): records appended by commits form
 * one verifiable chain, scans return exactly what was stored, queries filter like the API promises, seals
 * cannot fork, and concurrent commits never fork the chain.
 */
import {
  type AuditRecord,
  ConcurrentUpdateError,
  GENESIS_HASH,
  parseRecord,
  type Seal,
  type StoredAuditRecord,
  sealHash,
  sha256Hex,
  verifyRecords,
} from "@spe/core";
import { expect, it } from "vitest";
import type { Fixture, StoreUnderTest } from "./store-contract";
import { anySignature, create, event, T0, workspace } from "./store-fixtures";

async function scanAll(store: StoreUnderTest): Promise<StoredAuditRecord[]> {
  const out: StoredAuditRecord[] = [];
  for await (const r of store.scan()) out.push(r);
  return out;
}

const verify = async (store: StoreUnderTest, seals: Seal[] = []) => verifyRecords(store.scan(), seals, anySignature);

/** Every page of a query, checking the limit of each. */
async function queryAll(
  store: StoreUnderTest,
  q: Omit<Parameters<StoreUnderTest["query"]>[0], "limit">,
  limit: number,
) {
  const out: AuditRecord[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < 200; i++) {
    const page = await store.query({ ...q, limit, ...(cursor ? { cursor } : {}) });
    expect(page.items.length).toBeLessThanOrEqual(limit);
    out.push(...page.items);
    if (!page.next) return out;
    cursor = page.next;
  }
  throw new Error("the query never ended");
}

const seal = (n: number, count: number, headHash: string, prevSealHash = GENESIS_HASH): Seal => ({
  n,
  at: new Date(T0).toISOString(),
  count,
  headHash,
  prevSealHash,
  keyId: "test-key",
  signature: `sig-${n}`,
});

export function describeAuditContract(fx: Fixture): void {
  it("starts empty: head 0 at the genesis hash, nothing to scan or query, no seals", async () => {
    expect(await fx.store.head()).toEqual({ count: 0, hash: GENESIS_HASH });
    expect(await scanAll(fx.store)).toEqual([]);
    expect(await fx.store.query({ limit: 10 })).toEqual({ items: [], next: null });
    expect(await fx.store.seals()).toEqual([]);
    expect(await verify(fx.store)).toMatchObject({ ok: true, count: 0 });
  });

  it("seals each commit's events into the chain: consecutive seqs, linked hashes, the clock's time", async () => {
    const first = await fx.store.commit({
      writes: [create("workspace", workspace("ws-1"))],
      audit: [event(), event({ action: "workspace.ready" })],
    });
    fx.clock.t += 60_000;
    const second = await fx.store.commit({ writes: [], audit: [event({ action: "workspace.terminated" })] });
    expect([...first, ...second].map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(first[0]?.prevHash).toBe(GENESIS_HASH);
    expect(first[1]?.prevHash).toBe(first[0]?.hash);
    expect(second[0]?.prevHash).toBe(first[1]?.hash);
    expect(first[0]?.at).toBe(new Date(T0).toISOString());
    expect(second[0]?.at).toBe(new Date(T0 + 60_000).toISOString());
    expect(second[0]).toMatchObject({ actor: "alice", action: "workspace.terminated", outcome: "allowed" });
    expect(await fx.store.head()).toEqual({ count: 3, hash: second[0]?.hash });
    expect(await verify(fx.store)).toMatchObject({ ok: true, count: 3, head: second[0]?.hash });
  });

  it("scans exactly what was stored, in seq order, across pages", async () => {
    const returned: AuditRecord[] = [];
    for (let i = 0; i < 25; i++) {
      const events = Array.from({ length: (i % 4) + 1 }, (_, j) => event({ target: `workspace/ws-${i}-${j}` }));
      returned.push(...(await fx.store.commit({ writes: [], audit: events })));
    }
    const scanned = await scanAll(fx.store);
    expect(scanned.map((r) => r.seq)).toEqual(returned.map((_, i) => i + 1));
    for (const [i, r] of scanned.entries()) {
      expect(sha256Hex(r.body)).toBe(r.hash);
      expect(parseRecord(r)).toEqual(returned[i]);
    }
    expect(await verify(fx.store)).toMatchObject({ ok: true, count: returned.length });
  });

  it("queries by permit, workspace, actor and action, after a seq, page by page", async () => {
    const events = [
      event({ actor: "alice", action: "workspace.launched", details: { permitId: "P-1", workspaceId: "ws-1" } }),
      event({ actor: "bob", action: "permit.read", details: { permitId: "P-2" } }),
      event({ actor: "alice", action: "job.started", details: { permitId: "P-1", workspaceId: "ws-1" } }),
      event({ actor: "ana", action: "permit.revoked", details: { permitId: "P-1" } }),
      event({ actor: "alice", action: "workspace.launched", details: { permitId: "P-2", workspaceId: "ws-2" } }),
      event({ actor: "alice", action: "job.started", details: { permitId: "P-1", workspaceId: "ws-1" } }),
      event({ actor: "otto", action: "audit.read", details: {} }),
    ];
    const records = [
      ...(await fx.store.commit({ writes: [], audit: events.slice(0, 3) })),
      ...(await fx.store.commit({ writes: [], audit: events.slice(3) })),
    ];
    const seqs = (rs: AuditRecord[]) => rs.map((r) => r.seq);
    expect(seqs(await queryAll(fx.store, { permitId: "P-1" }, 2))).toEqual([1, 3, 4, 6]);
    expect(seqs(await queryAll(fx.store, { workspaceId: "ws-1" }, 1))).toEqual([1, 3, 6]);
    expect(seqs(await queryAll(fx.store, { actor: "alice" }, 3))).toEqual([1, 3, 5, 6]);
    expect(seqs(await queryAll(fx.store, { action: "job.started" }, 10))).toEqual([3, 6]);
    expect(seqs(await queryAll(fx.store, { actor: "alice", permitId: "P-2" }, 10))).toEqual([5]);
    expect(seqs(await queryAll(fx.store, { permitId: "P-1", action: "permit.revoked", actor: "ana" }, 10))).toEqual([
      4,
    ]);
    expect(seqs(await queryAll(fx.store, { permitId: "P-1", after: 3 }, 10))).toEqual([4, 6]);
    expect(seqs(await queryAll(fx.store, { workspaceId: "ws-9" }, 10))).toEqual([]);
    const everything = await queryAll(fx.store, {}, 4);
    expect(everything).toEqual(records);
  });

  it("never forks the chain under concurrent commits", async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        fx.store.commit({ writes: [], audit: [event({ target: `workspace/ws-${i}` })] }),
      ),
    );
    expect(
      results
        .flat()
        .map((r) => r.seq)
        .sort((a, b) => a - b),
    ).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(await fx.store.head()).toMatchObject({ count: 20 });
    expect(await verify(fx.store)).toMatchObject({ ok: true, count: 20 });
  });

  it("keeps only the winner's audit record when concurrent commits create the same entity", async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) =>
        fx.store.commit({
          writes: [create("workspace", workspace("ws-1", { owner: `user-${i}` }))],
          audit: [event({ actor: `user-${i}` })],
        }),
      ),
    );
    const won = results.filter((r) => r.status === "fulfilled");
    expect(won).toHaveLength(1);
    for (const r of results.filter((r) => r.status === "rejected")) {
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(ConcurrentUpdateError);
    }
    const winner = (won[0] as PromiseFulfilledResult<AuditRecord[]>).value[0];
    expect(await scanAll(fx.store)).toHaveLength(1);
    expect(await fx.store.get("workspace", "ws-1")).toMatchObject({ item: { owner: winner?.actor } });
  });

  it("appends seals in order, refuses a second seal with the same number, and verifies with them", async () => {
    const [r1] = await fx.store.commit({ writes: [], audit: [event()] });
    const s1 = seal(1, 1, r1?.hash as string);
    await fx.store.appendSeal(s1);
    const [r2] = await fx.store.commit({ writes: [], audit: [event()] });
    const s2 = seal(2, 2, r2?.hash as string, sealHash(s1));
    await fx.store.appendSeal(s2);
    await expect(fx.store.appendSeal({ ...s2, count: 1, headHash: r1?.hash as string })).rejects.toThrow();
    expect(await fx.store.seals()).toEqual([s1, s2]);
    expect(await verify(fx.store, await fx.store.seals())).toMatchObject({ ok: true, count: 2, sealed: { count: 2 } });
  });
}

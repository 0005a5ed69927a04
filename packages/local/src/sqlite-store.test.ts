import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type AuditEvent, ConcurrentUpdateError, systemClock, verifyRecords, type Workspace } from "@spe/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SqliteStore } from "./sqlite-store";

let dir: string;
let store: SqliteStore;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "spe-store-"));
  store = new SqliteStore(join(dir, "spe.db"), systemClock);
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

const ws = (id: string, status: Workspace["status"] = "ready"): Workspace => ({
  id,
  permitId: "P",
  owner: "alice",
  status,
  createdAt: "2026-01-01T00:00:00.000Z",
  expiresAt: "2026-01-01T04:00:00.000Z",
  terminatedAt: null,
  terminationReason: null,
});
const ev = (id: string): AuditEvent => ({
  actor: "alice",
  action: "workspace.launched",
  target: `workspace/${id}`,
  outcome: "allowed",
  details: { workspaceId: id, permitId: "P" },
});
const verify = () => verifyRecords(store.scan(), [], { verify: async () => true });

describe("SqliteStore", () => {
  it("refuses a write whose expected version is stale, and keeps the winner's", async () => {
    await store.commit({
      writes: [{ kind: "workspace", item: ws("ws-a"), expectedVersion: null }],
      audit: [ev("ws-a")],
    });
    const a = store.commit({
      writes: [{ kind: "workspace", item: ws("ws-a", "stopping"), expectedVersion: 1 }],
      audit: [ev("ws-a")],
    });
    const b = store.commit({
      writes: [{ kind: "workspace", item: ws("ws-a", "failed"), expectedVersion: 1 }],
      audit: [ev("ws-a")],
    });
    const [ra, rb] = await Promise.allSettled([a, b]);
    expect(ra.status).toBe("fulfilled");
    expect(rb.status === "rejected" && rb.reason).toBeInstanceOf(ConcurrentUpdateError);
    expect(await store.get("workspace", "ws-a")).toMatchObject({ version: 2, item: { status: "stopping" } });
    expect(await verify()).toMatchObject({ ok: true, count: 2 });
  });

  it("commits concurrent requests in one group, rolling back only the one that fails", async () => {
    const results = await Promise.allSettled([
      store.commit({ writes: [{ kind: "workspace", item: ws("ws-1"), expectedVersion: null }], audit: [ev("ws-1")] }),
      store.commit({ writes: [{ kind: "workspace", item: ws("ws-2"), expectedVersion: 7 }], audit: [ev("ws-2")] }),
      store.commit({ writes: [{ kind: "workspace", item: ws("ws-3"), expectedVersion: null }], audit: [ev("ws-3")] }),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect(await store.get("workspace", "ws-2")).toBeNull();
    const records = (results[2] as PromiseFulfilledResult<{ seq: number }[]>).value;
    expect(records[0]?.seq).toBe(2); // no gap where the failed commit was
    expect(await verify()).toMatchObject({ ok: true, count: 2 });
  });

  it("writes nothing at all when the audit append fails", async () => {
    store.db.exec("CREATE TEMP TRIGGER f BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'no space'); END;");
    await expect(
      store.commit({ writes: [{ kind: "workspace", item: ws("ws-x"), expectedVersion: null }], audit: [ev("ws-x")] }),
    ).rejects.toMatchObject({ code: "audit.unavailable" });
    expect(await store.get("workspace", "ws-x")).toBeNull();
  });

  it("scans the chain in order across chunk boundaries", async () => {
    const events = Array.from({ length: 9000 }, (_, i) => ev(`ws-${i}`));
    await store.commit({ writes: [], audit: events });
    const seqs = [...store.scan()].map((r) => r.seq);
    expect(seqs).toHaveLength(9000);
    expect(seqs.every((s, i) => s === i + 1)).toBe(true);
    expect(await verify()).toMatchObject({ ok: true, count: 9000 });
  });

  it("opens read-only for offline verification and refuses writes", async () => {
    await store.commit({ writes: [], audit: [ev("ws-1")] });
    const ro = new SqliteStore(join(dir, "spe.db"), systemClock, { readonly: true });
    try {
      expect(await ro.head()).toMatchObject({ count: 1 });
      await expect(ro.commit({ writes: [], audit: [ev("ws-2")] })).rejects.toThrow();
    } finally {
      ro.close();
    }
  });
});

/**
 * The Store + AuditLog port contract (packages/core/src/ports.ts), run against every adapter: SqliteStore
 * (packages/local/src/sqlite-store.contract.test.ts) and DynamoStore (packages/aws/src/dynamo-store.test.ts).
 * This file holds the entity side (conditional writes, all-or-nothing commits, idempotency, lists);
 * audit-contract.ts holds the chain side. Adapter-specific behaviour stays in the adapters' own tests.
 */
import type { AuditLog, Clock, EntityKind, Store } from "@spe/core";
import { ConcurrentUpdateError } from "@spe/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { describeAuditContract } from "./audit-contract";
import { BUILDERS, create, egress, event, job, KINDS, permit, TestClock, update, workspace } from "./store-fixtures";

export type StoreUnderTest = Store & AuditLog;
export type MakeStore = (opts: { clock: Clock }) => Promise<{ store: StoreUnderTest; close(): Promise<void> }>;

/** Shared by the two halves of the suite: a fresh store and clock per test. */
export interface Fixture {
  store: StoreUnderTest;
  clock: TestClock;
}

export function describeStoreContract(name: string, makeStore: MakeStore): void {
  describe(`${name} (Store contract)`, () => {
    const fx = {} as Fixture;
    let close: () => Promise<void>;
    beforeEach(async () => {
      fx.clock = new TestClock();
      const made = await makeStore({ clock: fx.clock });
      fx.store = made.store;
      close = made.close;
    });
    afterEach(async () => close());

    describeEntities(fx);
    describeLists(fx);
    describeAuditContract(fx);
  });
}

const idsOf = (page: { items: { item: { id: string } }[] }) => page.items.map((v) => v.item.id);

/** Reads every page of a list, checking that each page respects the limit. */
async function pages(store: Store, kind: EntityKind, filter: Parameters<Store["list"]>[1], limit: number) {
  const seen: string[][] = [];
  let cursor: string | undefined;
  for (let i = 0; i < 100; i++) {
    const page = await store.list(kind, filter, { limit, ...(cursor ? { cursor } : {}) });
    expect(page.items.length).toBeLessThanOrEqual(limit);
    seen.push(idsOf(page));
    if (!page.next) return seen;
    cursor = page.next;
  }
  throw new Error("the list never ended");
}

function describeEntities(fx: Fixture): void {
  it("returns null for entities and idempotency keys never written", async () => {
    for (const kind of KINDS) expect(await fx.store.get(kind, "nope")).toBeNull();
    expect(await fx.store.getIdempotency("alice", "k-1")).toBeNull();
  });

  it("creates every kind at version 1 and reads it back exactly as written", async () => {
    for (const kind of KINDS) {
      const item = BUILDERS[kind](`${kind}-1`);
      await fx.store.commit({ writes: [create(kind, item)], audit: [event()] });
      expect(await fx.store.get(kind, `${kind}-1`)).toEqual({ version: 1, item });
    }
  });

  it("updates only from the expected version, and a stale write changes nothing", async () => {
    await fx.store.commit({ writes: [create("workspace", workspace("ws-1"))], audit: [event()] });
    await fx.store.commit({
      writes: [update("workspace", workspace("ws-1", { status: "stopping" }), 1)],
      audit: [event()],
    });
    const before = await fx.store.head();
    await expect(
      fx.store.commit({ writes: [update("workspace", workspace("ws-1", { status: "failed" }), 1)], audit: [event()] }),
    ).rejects.toBeInstanceOf(ConcurrentUpdateError);
    expect(await fx.store.get("workspace", "ws-1")).toMatchObject({ version: 2, item: { status: "stopping" } });
    expect(await fx.store.head()).toEqual(before);
  });

  it("refuses to create what exists and to update what does not", async () => {
    await fx.store.commit({ writes: [create("permit", permit("P-1"))], audit: [event()] });
    await expect(
      fx.store.commit({ writes: [create("permit", permit("P-1", ["mallory"]))], audit: [event()] }),
    ).rejects.toBeInstanceOf(ConcurrentUpdateError);
    expect(await fx.store.get("permit", "P-1")).toMatchObject({
      version: 1,
      item: { researchers: ["alice", "carol"] },
    });
    await expect(
      fx.store.commit({ writes: [update("permit", permit("P-2"), 1)], audit: [event()] }),
    ).rejects.toBeInstanceOf(ConcurrentUpdateError);
    expect(await fx.store.get("permit", "P-2")).toBeNull();
    expect((await fx.store.head()).count).toBe(1);
  });

  it("applies nothing of a commit when one of its writes is stale: no entity, no record, no idempotency key", async () => {
    await fx.store.commit({ writes: [create("permit", permit("P-1"))], audit: [event()] });
    const before = await fx.store.head();
    const idem = {
      actor: "alice",
      key: "k-1",
      scope: "POST /v1/permits/P-1/workspaces",
      requestHash: "d".repeat(64),
      resourceId: "ws-new",
      createdAt: "2026-03-01T09:00:00.000Z",
    };
    await expect(
      fx.store.commit({
        writes: [create("workspace", workspace("ws-new")), update("permit", permit("P-1"), 7)],
        audit: [event(), event({ action: "permit.updated" })],
        idempotency: idem,
      }),
    ).rejects.toBeInstanceOf(ConcurrentUpdateError);
    expect(await fx.store.get("workspace", "ws-new")).toBeNull();
    expect(await fx.store.get("permit", "P-1")).toMatchObject({ version: 1 });
    expect(await fx.store.getIdempotency("alice", "k-1")).toBeNull();
    expect(await fx.store.head()).toEqual(before);
  });

  it("lets exactly one of several racing updates from the same version win", async () => {
    await fx.store.commit({ writes: [create("workspace", workspace("ws-1"))], audit: [event()] });
    const racers = (["stopping", "failed", "stopping", "failed", "stopping"] as const).map((status) =>
      fx.store.commit({ writes: [update("workspace", workspace("ws-1", { status }), 1)], audit: [event()] }),
    );
    const results = await Promise.allSettled(racers);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    for (const r of results.filter((r) => r.status === "rejected")) {
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(ConcurrentUpdateError);
    }
    expect(await fx.store.get("workspace", "ws-1")).toMatchObject({ version: 2 });
    expect((await fx.store.head()).count).toBe(2);
  });

  it("stores the idempotency record with its commit and refuses the same actor and key again", async () => {
    const idem = {
      actor: "alice",
      key: "launch-7f3a",
      scope: "POST /v1/permits/P-1/workspaces",
      requestHash: "e".repeat(64),
      resourceId: "ws-1",
      createdAt: "2026-03-01T09:00:00.000Z",
    };
    await fx.store.commit({ writes: [create("workspace", workspace("ws-1"))], audit: [event()], idempotency: idem });
    expect(await fx.store.getIdempotency("alice", "launch-7f3a")).toEqual(idem);
    await expect(
      fx.store.commit({
        writes: [create("workspace", workspace("ws-2"))],
        audit: [event()],
        idempotency: { ...idem, resourceId: "ws-2" },
      }),
    ).rejects.toBeInstanceOf(ConcurrentUpdateError);
    expect(await fx.store.get("workspace", "ws-2")).toBeNull();
    expect(await fx.store.getIdempotency("alice", "launch-7f3a")).toEqual(idem);
    // Keys are per actor.
    await fx.store.commit({
      writes: [],
      audit: [event()],
      idempotency: { ...idem, actor: "carol", resourceId: "ws-3" },
    });
    expect(await fx.store.getIdempotency("carol", "launch-7f3a")).toMatchObject({ resourceId: "ws-3" });
    // Actor and key stay apart whatever characters they hold.
    await fx.store.commit({ writes: [], audit: [event()], idempotency: { ...idem, actor: "a#b", key: "c" } });
    expect(await fx.store.getIdempotency("a", "b#c")).toBeNull();
    expect(await fx.store.getIdempotency("a#b", "c")).toMatchObject({ actor: "a#b", key: "c" });
  });

  it("refuses an incomplete audit event and then writes nothing (fail closed)", async () => {
    await expect(
      fx.store.commit({ writes: [create("workspace", workspace("ws-1"))], audit: [event({ action: "Launched" })] }),
    ).rejects.toMatchObject({ code: "audit.unavailable" });
    expect(await fx.store.get("workspace", "ws-1")).toBeNull();
    expect((await fx.store.head()).count).toBe(0);
  });
}

function describeLists(fx: Fixture): void {
  it("lists every kind in id order, page by page, until next is null", async () => {
    const ids = ["m", "b", "x", "a", "q", "c", "z"];
    for (const kind of KINDS) {
      const writes = ids.map((id) => create(kind, BUILDERS[kind](`${kind}-${id}`)));
      await fx.store.commit({ writes, audit: [event()] });
      const seen = await pages(fx.store, kind, {}, 3);
      expect(seen.map((p) => p.length)).toEqual([3, 3, 1]);
      expect(seen.flat()).toEqual([...ids].sort().map((id) => `${kind}-${id}`));
    }
    // A page exactly as long as what is left says there is nothing more.
    expect((await fx.store.list("job", {}, { limit: 7 })).next).toBeNull();
  });

  it("filters by owner: a workspace's or job's owner, an egress request's requester", async () => {
    await fx.store.commit({
      writes: [
        create("workspace", workspace("ws-1", { owner: "alice" })),
        create("workspace", workspace("ws-2", { owner: "bob" })),
        create("workspace", workspace("ws-3", { owner: "alice" })),
        create("egress", egress("eg-1", { requester: "bob" })),
        create("egress", egress("eg-2", { requester: "alice" })),
        create("job", job("job-1", { owner: "bob" })),
      ],
      audit: [event()],
    });
    expect((await pages(fx.store, "workspace", { owner: "alice" }, 10)).flat()).toEqual(["ws-1", "ws-3"]);
    expect((await pages(fx.store, "egress", { owner: "alice" }, 10)).flat()).toEqual(["eg-2"]);
    expect((await pages(fx.store, "job", { owner: "bob" }, 10)).flat()).toEqual(["job-1"]);
    expect((await pages(fx.store, "workspace", { owner: "ali" }, 10)).flat()).toEqual([]);
  });

  it("filters by permit and workspace, and never matches permits or datasets by permitId", async () => {
    await fx.store.commit({
      writes: [
        create("permit", permit("P-1")),
        create("workspace", workspace("ws-1", { permitId: "P-1" })),
        create("workspace", workspace("ws-2", { permitId: "P-2" })),
        create("egress", egress("eg-1", { permitId: "P-1", workspaceId: "ws-1" })),
        create("egress", egress("eg-2", { permitId: "P-2", workspaceId: "ws-2" })),
        create("job", job("job-1", { workspaceId: "ws-1" })),
        create("job", job("job-2", { workspaceId: "ws-2" })),
        create("job", job("job-3", { workspaceId: "ws-1" })),
      ],
      audit: [event()],
    });
    expect((await pages(fx.store, "workspace", { permitId: "P-1" }, 10)).flat()).toEqual(["ws-1"]);
    expect((await pages(fx.store, "egress", { permitId: "P-2" }, 10)).flat()).toEqual(["eg-2"]);
    expect((await pages(fx.store, "permit", { permitId: "P-1" }, 10)).flat()).toEqual([]);
    expect((await pages(fx.store, "job", { workspaceId: "ws-1" }, 1)).flat()).toEqual(["job-1", "job-3"]);
    expect((await pages(fx.store, "egress", { workspaceId: "ws-2" }, 10)).flat()).toEqual(["eg-2"]);
    expect((await pages(fx.store, "workspace", { workspaceId: "ws-1" }, 10)).flat()).toEqual([]);
  });

  it("filters by a list of statuses; an empty list matches nothing", async () => {
    const statuses = ["provisioning", "ready", "stopping", "terminated", "failed", "ready"] as const;
    await fx.store.commit({
      writes: statuses.map((status, i) => create("workspace", workspace(`ws-${i}`, { status }))),
      audit: [event()],
    });
    expect((await pages(fx.store, "workspace", { status: ["ready"] }, 10)).flat()).toEqual(["ws-1", "ws-5"]);
    expect((await pages(fx.store, "workspace", { status: ["provisioning", "stopping"] }, 1)).flat()).toEqual([
      "ws-0",
      "ws-2",
    ]);
    expect((await pages(fx.store, "workspace", { status: [] }, 10)).flat()).toEqual([]);
  });

  it("filters permits by a researcher they name (whole names only)", async () => {
    await fx.store.commit({
      writes: [
        create("permit", permit("P-1", ["alice", "carol"])),
        create("permit", permit("P-2", ["bob"])),
        create("permit", permit("P-3", ["carolina", "alice"])),
      ],
      audit: [event()],
    });
    expect((await pages(fx.store, "permit", { researcher: "alice" }, 1)).flat()).toEqual(["P-1", "P-3"]);
    expect((await pages(fx.store, "permit", { researcher: "carol" }, 10)).flat()).toEqual(["P-1"]);
    expect((await pages(fx.store, "permit", { researcher: "car" }, 10)).flat()).toEqual([]);
  });

  it("fills pages when few items match the filters, and sees later changes", async () => {
    // Every 7th matches; the others miss on exactly one of the three filters.
    const writes = Array.from({ length: 40 }, (_, i) => {
      const id = `ws-${String(i).padStart(2, "0")}`;
      const miss = i % 7 === 3 ? null : (["permitId", "owner", "status"] as const)[i % 3];
      return create(
        "workspace",
        workspace(id, {
          permitId: miss === "permitId" ? "P-2" : "P-1",
          owner: miss === "owner" ? "bob" : "alice",
          status: miss === "status" ? "terminated" : "ready",
        }),
      );
    });
    await fx.store.commit({ writes, audit: [event()] });
    const filter = { permitId: "P-1", owner: "alice", status: ["ready", "provisioning"] };
    const seen = await pages(fx.store, "workspace", filter, 2);
    expect(seen.flat()).toEqual(["ws-03", "ws-10", "ws-17", "ws-24", "ws-31", "ws-38"]);
    expect(seen.map((p) => p.length)).toEqual([2, 2, 2]);

    const ws10 = workspace("ws-10", { permitId: "P-1", owner: "alice", status: "stopping" });
    await fx.store.commit({ writes: [update("workspace", ws10, 1)], audit: [event()] });
    expect((await pages(fx.store, "workspace", filter, 10)).flat()).not.toContain("ws-10");
    expect((await pages(fx.store, "workspace", { status: ["stopping"] }, 10)).flat()).toEqual(["ws-10"]);
  });
}

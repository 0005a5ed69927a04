/**
 * DynamoStore against DynamoDB in memory (dynalite, with transactions emulated: see dynalite-harness.ts):
 * the shared Store + AuditLog contract, then what is specific to DynamoDB: cursors, retries of throttled
 * and lost transactions, the 100-item and 400 KB limits, the stored layout, seals.
 * The paths that need exact DynamoDB error shapes are in dynamo-commit.test.ts (mocked client).
 */
import { ScanCommand, ThrottlingException, TransactionCanceledException } from "@aws-sdk/client-dynamodb";
import { type AuditEvent, GENESIS_HASH, sha256Hex, type Write } from "@spe/core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { describeStoreContract } from "../../../test/contracts/store-contract";
import { create, event, TestClock, workspace } from "../../../test/contracts/store-fixtures";
import { type Fault, injectFaults, LocalDynamo, type LocalTable } from "./dynalite-harness";
import { DynamoStore } from "./dynamo-store";

let local: LocalDynamo;
beforeAll(async () => {
  local = await LocalDynamo.start();
});
afterAll(async () => local.close());

const fast = { sleep: async () => {}, raceBaseDelayMs: 1, raceMaxDelayMs: 5 };

describeStoreContract("DynamoStore on dynalite", async ({ clock }) => {
  const t = await local.createTable();
  // Small pages, so that the contract's scans and filtered lists cross page boundaries.
  const store = new DynamoStore({ client: t.client, tableName: t.tableName, clock, scanPageSize: 7, filteredBatch: 3 });
  return { store, close: async () => {} };
});

describe("DynamoStore (DynamoDB specifics)", () => {
  let t: LocalTable;
  let store: DynamoStore;
  let faults: ((command: string) => Fault)[];
  let txCalls: number;
  beforeEach(async () => {
    t = await local.createTable();
    faults = [];
    txCalls = 0;
    injectFaults(t.client, (command) => {
      if (command !== "TransactWriteItemsCommand") return undefined;
      txCalls++;
      return faults.shift()?.(command);
    });
    store = new DynamoStore({ client: t.client, tableName: t.tableName, clock: new TestClock(), retry: fast });
  });

  /** Everything in the table, read behind the Store's back. */
  const allItems = async () => (await t.raw.send(new ScanCommand({ TableName: t.tableName }))).Items ?? [];
  const throttled = () =>
    new ThrottlingException({ message: "Rate of requests exceeds the allowed throughput.", $metadata: {} });
  const throttledTx = () =>
    new TransactionCanceledException({
      message: "Transaction cancelled, please refer cancellation reasons for specific reasons [ThrottlingError]",
      $metadata: {},
      CancellationReasons: [{ Code: "ThrottlingError", Message: "Throughput exceeds the current capacity." }],
    });
  const lost = () => Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });

  it("refuses a malformed, tampered or foreign cursor with a ValidationError", async () => {
    await store.commit({ writes: [create("workspace", workspace("ws-1"))], audit: [event()] });
    for (const cursor of ["not a cursor!", "d3MtMQ=", "", "%%%", Buffer.from("").toString("base64url") || "=="]) {
      await expect(store.list("workspace", {}, { limit: 5, cursor })).rejects.toMatchObject({
        code: "page.invalid_cursor",
      });
    }
    await expect(store.query({ limit: 5, cursor: Buffer.from("ws-1").toString("base64url") })).rejects.toMatchObject({
      code: "page.invalid_cursor",
    });
    await expect(store.list("workspace", {}, { limit: 0 })).rejects.toMatchObject({ code: "page.invalid_limit" });
  });

  it("retries a throttled transaction and writes the commit exactly once", async () => {
    faults.push(
      () => ({ before: throttled() }),
      () => ({ before: throttledTx() }),
    );
    const records = await store.commit({ writes: [create("workspace", workspace("ws-1"))], audit: [event()] });
    expect(records.map((r) => r.seq)).toEqual([1]);
    expect(txCalls).toBe(3);
    expect(await store.get("workspace", "ws-1")).toMatchObject({ version: 1 });
    expect(await store.head()).toMatchObject({ count: 1 });
  });

  it("gives up on persistent throttling with audit.unavailable, and nothing at all is written", async () => {
    faults = Array.from({ length: 50 }, (_, i) => () => ({ before: i % 2 ? throttled() : throttledTx() }));
    await expect(
      store.commit({
        writes: [create("workspace", workspace("ws-1"))],
        audit: [event()],
        idempotency: {
          actor: "alice",
          key: "k-1",
          scope: "POST /v1/permits/P-1/workspaces",
          requestHash: "f".repeat(64),
          resourceId: "ws-1",
          createdAt: "2026-03-01T09:00:00.000Z",
        },
      }),
    ).rejects.toMatchObject({ code: "audit.unavailable" });
    expect(txCalls).toBe(6);
    expect(await allItems()).toEqual([]);
  });

  it("retries a transaction whose response was lost with the same token, so it lands once", async () => {
    faults.push(() => ({ after: lost() }));
    const records = await store.commit({ writes: [create("workspace", workspace("ws-1"))], audit: [event()] });
    expect(txCalls).toBe(2);
    expect(records.map((r) => r.seq)).toEqual([1]);
    expect(await store.get("workspace", "ws-1")).toMatchObject({ version: 1 });
    expect(await store.head()).toMatchObject({ count: 1, hash: records[0]?.hash });
  });

  it("reports the records of a transaction that landed although every retry failed", async () => {
    faults = [() => ({ after: lost() }), ...Array.from({ length: 10 }, () => () => ({ before: lost() }))];
    const records = await store.commit({ writes: [], audit: [event()] });
    expect(records.map((r) => r.seq)).toEqual([1]);
    expect(await store.head()).toEqual({ count: 1, hash: records[0]?.hash });
  });

  it("accepts a commit of exactly 100 items and refuses 101 before sending anything", async () => {
    const writes = (n: number, from = 0): Write[] =>
      Array.from({ length: n }, (_, i) => create("workspace", workspace(`ws-${from + i}`)));
    const events = (n: number): AuditEvent[] => Array.from({ length: n }, () => event());
    // 49 writes + 49 records + the head + the idempotency record = 100.
    const idem = {
      actor: "alice",
      key: "k-100",
      scope: "POST /v1/x",
      requestHash: "0".repeat(64),
      resourceId: "ws-0",
      createdAt: "2026-03-01T09:00:00.000Z",
    };
    await store.commit({ writes: writes(49), audit: events(49), idempotency: idem });
    expect(await store.head()).toMatchObject({ count: 49 });
    const before = await allItems();
    txCalls = 0;
    await expect(
      store.commit({ writes: writes(50, 100), audit: events(49), idempotency: { ...idem, key: "k-101" } }),
    ).rejects.toMatchObject({ code: "store.commit_too_large" });
    await expect(store.commit({ writes: [], audit: events(100) })).rejects.toMatchObject({
      code: "store.commit_too_large",
    });
    expect(txCalls).toBe(0);
    expect(await allItems()).toEqual(before);
  });

  it("refuses an item over 400 KB before sending anything", async () => {
    const huge = workspace("ws-1", { failureReason: "x".repeat(410 * 1024) });
    await expect(store.commit({ writes: [create("workspace", huge)], audit: [event()] })).rejects.toMatchObject({
      code: "store.commit_too_large",
    });
    expect(txCalls).toBe(0);
    expect(await allItems()).toEqual([]);
  });

  it("stores each audit record as its canonical body and hash, and the head beside the chain", async () => {
    const [r] = await store.commit({ writes: [], audit: [event()] });
    const items = await allItems();
    const record = items.find((i) => i.pk?.S === "audit");
    expect(record?.body?.S).toBeDefined();
    expect(sha256Hex(record?.body?.S as string)).toBe(r?.hash);
    expect(JSON.parse(record?.body?.S as string)).toMatchObject({ seq: 1, prevHash: GENESIS_HASH });
    expect(items.find((i) => i.pk?.S === "audit#head")).toMatchObject({ seq: { N: "1" }, hash: { S: r?.hash } });
  });

  it("sets a TTL on idempotency records only when told to", async () => {
    const idem = {
      actor: "alice",
      key: "k-1",
      scope: "POST /v1/x",
      requestHash: "0".repeat(64),
      resourceId: "ws-1",
      createdAt: "2026-03-01T09:00:00.000Z",
    };
    await store.commit({ writes: [], audit: [event()], idempotency: idem });
    const withTtl = new DynamoStore({
      client: t.client,
      tableName: t.tableName,
      clock: new TestClock(),
      idempotencyTtlSeconds: 86_400,
    });
    await withTtl.commit({ writes: [], audit: [event()], idempotency: { ...idem, key: "k-2" } });
    const byKey = (k: string) => allItems().then((items) => items.find((i) => i.sk?.S === k));
    expect((await byKey("k-1"))?.ttl).toBeUndefined();
    expect((await byKey("k-2"))?.ttl).toEqual({ N: String(Date.parse(idem.createdAt) / 1000 + 86_400) });
  });

  it("refuses a seal that would leave a gap", async () => {
    const [r] = await store.commit({ writes: [], audit: [event()] });
    const seal = {
      n: 2,
      at: "2026-03-01T10:00:00.000Z",
      count: 1,
      headHash: r?.hash as string,
      prevSealHash: GENESIS_HASH,
      keyId: "k",
      signature: "s",
    };
    await expect(store.appendSeal(seal)).rejects.toMatchObject({ code: "audit.seal_gap" });
    expect(await store.seals()).toEqual([]);
  });

  it("checks its options", () => {
    const clock = new TestClock();
    expect(() => new DynamoStore({ client: t.client, tableName: "x", clock })).toThrow(/table name/);
    expect(() => new DynamoStore({ client: t.client, tableName: t.tableName, clock, scanPageSize: 0 })).toThrow(
      /scanPageSize/,
    );
    expect(
      () => new DynamoStore({ client: t.client, tableName: t.tableName, clock, idempotencyTtlSeconds: 5 }),
    ).toThrow(/idempotencyTtlSeconds/);
  });
});

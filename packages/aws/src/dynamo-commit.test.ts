/**
 * DynamoStore.commit against a mocked DynamoDB client (aws-sdk-client-mock) that answers with the errors
 * DynamoDB really sends: cancellation reasons per item, throttling, conflicts. Shows which failures are
 * retried (and how: same token or fresh head) and which surface at once, and that nothing else is written.
 */
import {
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  ThrottlingException,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  type TransactWriteItemsCommandInput,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { ConcurrentUpdateError, chainRecord, GENESIS_HASH } from "@spe/core";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { create, event, TestClock, update, workspace } from "../../../test/contracts/store-fixtures";
import { headKey, pad } from "./dynamo-items";
import { DynamoStore } from "./dynamo-store";

const ddb = mockClient(DynamoDBClient);
const clock = new TestClock();
let delays: number[];
const store = () =>
  new DynamoStore({
    client: new DynamoDBClient({ region: "eu-central-1" }),
    tableName: "spe-prod-state",
    clock,
    retry: { sleep: async (ms) => void delays.push(ms), random: () => 1, raceAttempts: 5, transientAttempts: 4 },
  });

const cancelled = (...codes: string[]) =>
  new TransactionCanceledException({
    message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${codes.join(", ")}]`,
    $metadata: { httpStatusCode: 400 },
    CancellationReasons: codes.map((Code) => ({ Code, ...(Code === "None" ? {} : { Message: `${Code} message` }) })),
  });
const headAt = (seq: number, hash: string) => ({ Item: { ...headKey(), seq: { N: String(seq) }, hash: { S: hash } } });
const txInputs = (): TransactWriteItemsCommandInput[] =>
  ddb.commandCalls(TransactWriteItemsCommand).map((c) => c.args[0].input);
const otherWrites = () => ddb.commandCalls(PutItemCommand).length + ddb.commandCalls(UpdateItemCommand).length;

beforeEach(() => {
  ddb.reset();
  delays = [];
  ddb.on(GetItemCommand).resolves({});
});

describe("DynamoStore.commit (mocked DynamoDB)", () => {
  it("retries a lost race for the chain head from the new head", async () => {
    const h5 = "5".repeat(64);
    const h6 = "6".repeat(64);
    ddb.on(GetItemCommand, { Key: headKey() }).resolvesOnce(headAt(5, h5)).resolves(headAt(6, h6));
    ddb
      .on(TransactWriteItemsCommand)
      .rejectsOnce(cancelled("None", "ConditionalCheckFailed", "ConditionalCheckFailed"))
      .resolves({});
    const records = await store().commit({ writes: [update("workspace", workspace("ws-1"), 3)], audit: [event()] });
    expect(records).toMatchObject([{ seq: 7, prevHash: h6 }]);
    const [first, second] = txInputs();
    expect(first?.TransactItems?.[1]?.Put?.Item?.sk).toEqual({ S: pad(6) });
    expect(second?.TransactItems?.[1]?.Put?.Item?.sk).toEqual({ S: pad(7) });
    expect(second?.TransactItems?.[2]?.Put?.ExpressionAttributeValues).toEqual({ ":seq": { N: "6" } });
    expect(second?.ClientRequestToken).not.toBe(first?.ClientRequestToken);
  });

  it("reports a failed version condition as ConcurrentUpdateError at once, without retrying", async () => {
    ddb.on(TransactWriteItemsCommand).rejects(cancelled("ConditionalCheckFailed", "None", "ConditionalCheckFailed"));
    await expect(
      store().commit({ writes: [update("workspace", workspace("ws-1"), 3)], audit: [event()] }),
    ).rejects.toBeInstanceOf(ConcurrentUpdateError);
    expect(txInputs()).toHaveLength(1);
  });

  it("reports a used idempotency key as ConcurrentUpdateError", async () => {
    ddb.on(TransactWriteItemsCommand).rejects(cancelled("None", "ConditionalCheckFailed", "None", "None"));
    const idem = {
      actor: "alice",
      key: "k-1",
      scope: "POST /v1/x",
      requestHash: "0".repeat(64),
      resourceId: "ws-1",
      createdAt: "2026-03-01T09:00:00.000Z",
    };
    await expect(
      store().commit({ writes: [create("workspace", workspace("ws-1"))], audit: [event()], idempotency: idem }),
    ).rejects.toThrow(/idempotency key k-1/);
    expect(txInputs()).toHaveLength(1);
  });

  it("retries throttling with the same transaction and token, then fails closed with nothing else written", async () => {
    ddb.on(TransactWriteItemsCommand).rejects(new ThrottlingException({ message: "Rate exceeded", $metadata: {} }));
    await expect(
      store().commit({ writes: [create("workspace", workspace("ws-1"))], audit: [event()] }),
    ).rejects.toMatchObject({
      code: "audit.unavailable",
    });
    const inputs = txInputs();
    expect(inputs).toHaveLength(4);
    expect(new Set(inputs.map((i) => i.ClientRequestToken)).size).toBe(1);
    expect(new Set(inputs.map((i) => JSON.stringify(i.TransactItems))).size).toBe(1);
    expect(otherWrites()).toBe(0);
    // Exponential backoff, capped.
    expect(delays).toEqual([50, 100, 200]);
  });

  it("rebuilds the transaction after cancellation for throttling, and gives up after the bound", async () => {
    ddb.on(TransactWriteItemsCommand).rejects(cancelled("None", "ThrottlingError", "None"));
    await expect(
      store().commit({ writes: [create("workspace", workspace("ws-1"))], audit: [event()] }),
    ).rejects.toMatchObject({
      code: "audit.unavailable",
    });
    const inputs = txInputs();
    expect(inputs).toHaveLength(4);
    expect(new Set(inputs.map((i) => i.ClientRequestToken)).size).toBe(4);
    expect(otherWrites()).toBe(0);
  });

  it("retries a transaction conflict and then commits", async () => {
    ddb
      .on(TransactWriteItemsCommand)
      .rejectsOnce(cancelled("TransactionConflict", "None", "None"))
      .resolves({});
    const records = await store().commit({ writes: [create("workspace", workspace("ws-1"))], audit: [event()] });
    expect(records).toMatchObject([{ seq: 1, prevHash: GENESIS_HASH }]);
    expect(txInputs()).toHaveLength(2);
  });

  it("does not retry what no retry can fix", async () => {
    ddb.on(TransactWriteItemsCommand).rejects(cancelled("None", "ValidationError", "None"));
    await expect(
      store().commit({ writes: [create("workspace", workspace("ws-1"))], audit: [event()] }),
    ).rejects.toMatchObject({
      code: "audit.unavailable",
    });
    expect(txInputs()).toHaveLength(1);
  });

  it("gives up after a bounded number of lost races", async () => {
    ddb.on(TransactWriteItemsCommand).rejects(cancelled("ConditionalCheckFailed", "ConditionalCheckFailed"));
    await expect(store().commit({ writes: [], audit: [event()] })).rejects.toMatchObject({ code: "audit.unavailable" });
    expect(txInputs()).toHaveLength(5);
    expect(delays.every((d) => d <= 50)).toBe(true);
  });

  it("finds a transaction that landed although its response was lost on every attempt", async () => {
    const lost = Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });
    ddb.on(TransactWriteItemsCommand).rejects(lost);
    const expected = chainRecord(event(), 1, clock.now().toISOString(), GENESIS_HASH);
    ddb.on(GetItemCommand, { Key: { pk: { S: "audit" }, sk: { S: pad(1) } } }).resolves({
      Item: {
        pk: { S: "audit" },
        sk: { S: pad(1) },
        seq: { N: "1" },
        hash: { S: expected.hash },
        body: { S: expected.body },
      },
    });
    const records = await store().commit({ writes: [], audit: [event()] });
    expect(records).toMatchObject([{ seq: 1, hash: expected.hash }]);
  });

  it("turns reads throttled beyond the retries into store.unavailable", async () => {
    ddb.on(GetItemCommand).rejects(new ThrottlingException({ message: "Rate exceeded", $metadata: {} }));
    await expect(store().get("workspace", "ws-1")).rejects.toMatchObject({ code: "store.unavailable" });
    await expect(store().commit({ writes: [], audit: [event()] })).rejects.toMatchObject({ code: "audit.unavailable" });
    expect(txInputs()).toHaveLength(0);
  });
});

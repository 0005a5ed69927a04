import { CreateKeyCommand, DecryptCommand } from "@aws-sdk/client-kms";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONSOLE_KEY_ITEM, consoleSessionKey } from "./console-key";
import { LocalDynamo } from "./dynalite-harness";
import { FakeKms } from "./testing/fake-kms";

let dynamo: LocalDynamo;
beforeAll(async () => {
  dynamo = await LocalDynamo.start();
});
afterAll(() => dynamo.close());

async function setup() {
  const table = await dynamo.createTable();
  const kms = new FakeKms();
  const made = await kms.client.send(new CreateKeyCommand({ Description: "platform" }));
  const keyArn = made.KeyMetadata?.Arn as string;
  return { table, kms, o: { dynamodb: table.raw, kms: kms.client, tableName: table.tableName, keyArn } };
}

describe("consoleSessionKey", () => {
  it("gives every cold start the same 32-byte key, racing or not, and stores only its ciphertext", async () => {
    const { table, o } = await setup();
    const keys = await Promise.all([consoleSessionKey(o), consoleSessionKey(o), consoleSessionKey(o)]);
    const later = await consoleSessionKey(o);
    expect(keys[0]?.byteLength).toBe(32);
    for (const k of [...keys, later]) expect(Buffer.from(k).equals(Buffer.from(keys[0] as Uint8Array))).toBe(true);
    const { GetItemCommand } = await import("@aws-sdk/client-dynamodb");
    const item = await table.raw.send(new GetItemCommand({ TableName: table.tableName, Key: { ...CONSOLE_KEY_ITEM } }));
    const stored = Buffer.from(item.Item?.ciphertext?.B ?? []);
    expect(stored.length).toBeGreaterThan(32);
    expect(stored.includes(Buffer.from(later))).toBe(false);
  });

  it("cannot be decrypted outside the console's encryption context", async () => {
    const { table, kms, o } = await setup();
    await consoleSessionKey(o);
    const { GetItemCommand } = await import("@aws-sdk/client-dynamodb");
    const item = await table.raw.send(new GetItemCommand({ TableName: table.tableName, Key: { ...CONSOLE_KEY_ITEM } }));
    await expect(
      kms.client.send(new DecryptCommand({ CiphertextBlob: item.Item?.ciphertext?.B, KeyId: o.keyArn })),
    ).rejects.toThrow();
  });

  it("stores nothing when KMS fails, so the next cold start tries again", async () => {
    const { table, kms, o } = await setup();
    kms.faults.fail("GenerateDataKey", () => new Error("KMS is down"), { times: 1 });
    await expect(consoleSessionKey(o)).rejects.toThrow(/KMS is down/);
    const { GetItemCommand } = await import("@aws-sdk/client-dynamodb");
    const item = await table.raw.send(new GetItemCommand({ TableName: table.tableName, Key: { ...CONSOLE_KEY_ITEM } }));
    expect(item.Item).toBeUndefined();
    expect((await consoleSessionKey(o)).byteLength).toBe(32);
  });
});

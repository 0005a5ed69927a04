import type { Server } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { CreateTableCommand, DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeKeyServiceContract } from "../../../test/contracts/key-service-contract";
import { KmsKeyService } from "./kms-key-service";
import { TABLE_KEY } from "./table-schema";
import { FAKE_ACCOUNT, FAKE_KEY_ADMINS, FAKE_REGION, FakeKms } from "./testing/fake-kms";
import { DynamoWrappedKeyStore } from "./wrapped-key-store";

// dynalite ships no types: it is a function returning an http.Server that speaks the DynamoDB API.
const dynalite = createRequire(import.meta.url)("dynalite") as (o: { createTableMs: number }) => Server;

let server: Server;
let client: DynamoDBClient;
let tables = 0;

beforeAll(async () => {
  server = dynalite({ createTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  client = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    region: FAKE_REGION,
    credentials: { accessKeyId: "AKIAFAKEFAKEFAKE", secretAccessKey: "fake" },
  });
});
afterAll(async () => {
  client?.destroy();
  await new Promise((resolve) => server?.close(resolve));
});

/** A fresh table with the single-table key schema. */
async function table(): Promise<string> {
  const name = `spe-keys-${++tables}`;
  await client.send(
    new CreateTableCommand({
      TableName: name,
      KeySchema: [
        { AttributeName: TABLE_KEY.partition, KeyType: "HASH" },
        { AttributeName: TABLE_KEY.sort, KeyType: "RANGE" },
      ],
      AttributeDefinitions: [
        { AttributeName: TABLE_KEY.partition, AttributeType: "S" },
        { AttributeName: TABLE_KEY.sort, AttributeType: "S" },
      ],
      BillingMode: "PAY_PER_REQUEST",
    }),
  );
  return name;
}

describeKeyServiceContract("KmsKeyService (in-memory KMS, DynamoDB store on dynalite)", async () => {
  const kms = new FakeKms();
  const store = new DynamoWrappedKeyStore({ client, tableName: await table() });
  return {
    keys: new KmsKeyService({
      kms: kms.client,
      store,
      stage: "test",
      region: FAKE_REGION,
      accountId: FAKE_ACCOUNT,
      keyAdmins: FAKE_KEY_ADMINS,
    }),
  };
});

describe("DynamoWrappedKeyStore", () => {
  const blobs = (n: number) => ({
    keyArn: `arn:aws:kms:${FAKE_REGION}:${FAKE_ACCOUNT}:key/k${n}`,
    data: new Uint8Array([n, 1]),
    pseudonym: new Uint8Array([n, 2]),
  });

  it("keeps the first of two racing writers' blobs", async () => {
    const store = new DynamoWrappedKeyStore({ client, tableName: await table() });
    const results = await Promise.all(
      [1, 2, 3].map((n) => store.putIfAbsent("pmt-1", blobs(n), "2026-01-01T00:00:00Z")),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    const winner = results.indexOf(true) + 1;
    expect(await store.get("pmt-1")).toEqual({
      keyArn: blobs(winner).keyArn,
      wrapped: { data: blobs(winner).data, pseudonym: blobs(winner).pseudonym },
      destroyedAt: null,
    });
  });

  it("tombstones in one write: blobs gone, ARN and first date kept, no put afterwards", async () => {
    const tableName = await table();
    const store = new DynamoWrappedKeyStore({ client, tableName });
    await store.putIfAbsent("pmt-1", blobs(1), "2026-01-01T00:00:00Z");
    expect(await store.tombstone("pmt-1", "2026-02-01T00:00:00Z", null)).toBe(true);
    expect(await store.tombstone("pmt-1", "2026-03-01T00:00:00Z", "arn:other")).toBe(false);
    expect(await store.get("pmt-1")).toEqual({
      keyArn: blobs(1).keyArn,
      wrapped: null,
      destroyedAt: "2026-02-01T00:00:00Z",
    });
    expect(await store.putIfAbsent("pmt-1", blobs(2), "2026-04-01T00:00:00Z")).toBe(false);
    const { Item } = await client.send(
      new GetItemCommand({ TableName: tableName, Key: { pk: { S: "permitkey#pmt-1" }, sk: { S: "#" } } }),
    );
    expect(Object.keys(Item ?? {}).sort()).toEqual(["createdAt", "destroyedAt", "keyArn", "pk", "sk", "type"]);
  });

  it("tombstones a permit that never had keys", async () => {
    const store = new DynamoWrappedKeyStore({ client, tableName: await table() });
    expect(await store.tombstone("pmt-x", "2026-02-01T00:00:00Z", null)).toBe(false);
    expect(await store.get("pmt-x")).toEqual({ keyArn: null, wrapped: null, destroyedAt: "2026-02-01T00:00:00Z" });
    expect(await store.get("pmt-never")).toBeNull();
  });
});

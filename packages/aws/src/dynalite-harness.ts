/**
 * Test support (imported by tests only): DynamoDB in memory (dynalite) holding the table of
 * table-schema.ts, so the Store runs against real condition expressions, GSIs and paging.
 *
 * dynalite 4 has no TransactWriteItems (it answers UnknownOperationException). The client this harness
 * hands out emulates it: every request of that client is serialised, and a transaction applies its items one
 * by one with their own condition expressions (evaluated by dynalite), then rolls back every applied item
 * to its prior image if any condition failed, and throws TransactionCanceledException with one reason per
 * item, as DynamoDB does. ClientRequestToken is honoured (same token and input: applied once). What it
 * cannot show: DynamoDB's behaviour under real concurrency across clients, and its exact size accounting.
 */
import type { Server } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import {
  type AttributeValue,
  CreateTableCommand,
  type CreateTableCommandInput,
  DeleteItemCommand,
  DescribeTableCommand,
  DynamoDBClient,
  DynamoDBServiceException,
  GetItemCommand,
  PutItemCommand,
  TransactionCanceledException,
  type TransactWriteItem,
  type TransactWriteItemsCommandInput,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { TABLE_GSIS, TABLE_KEY } from "./table-schema";

type Item = Record<string, AttributeValue>;
type Dynalite = (opts: Record<string, unknown>) => Server;

/** The table stacks/state.ts deploys, as a CreateTable input. */
export function tableDefinition(TableName: string): CreateTableCommandInput {
  const attrs = new Set<string>([TABLE_KEY.partition, TABLE_KEY.sort]);
  for (const g of TABLE_GSIS) attrs.add(g.partition).add(g.sort);
  return {
    TableName,
    BillingMode: "PAY_PER_REQUEST",
    AttributeDefinitions: [...attrs].map((AttributeName) => ({ AttributeName, AttributeType: "S" })),
    KeySchema: [
      { AttributeName: TABLE_KEY.partition, KeyType: "HASH" },
      { AttributeName: TABLE_KEY.sort, KeyType: "RANGE" },
    ],
    GlobalSecondaryIndexes: TABLE_GSIS.map((g) => ({
      IndexName: g.name,
      KeySchema: [
        { AttributeName: g.partition, KeyType: "HASH" },
        { AttributeName: g.sort, KeyType: "RANGE" },
      ],
      Projection: { ProjectionType: "ALL" },
    })),
  };
}

export interface LocalTable {
  /** The client to give the Store: serialised, with emulated transactions. */
  client: DynamoDBClient;
  /** A plain client on the same server, to inspect items behind the Store's back. */
  raw: DynamoDBClient;
  tableName: string;
}

export class LocalDynamo {
  private tables = 0;
  private readonly clients: DynamoDBClient[] = [];

  private constructor(
    private readonly server: Server,
    private readonly endpoint: string,
  ) {}

  static async start(): Promise<LocalDynamo> {
    const dynalite = createRequire(import.meta.url)("dynalite") as Dynalite;
    const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    const { port } = server.address() as AddressInfo;
    return new LocalDynamo(server, `http://127.0.0.1:${port}`);
  }

  private newClient(): DynamoDBClient {
    const c = new DynamoDBClient({
      endpoint: this.endpoint,
      region: "eu-central-1",
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
      maxAttempts: 1,
    });
    this.clients.push(c);
    return c;
  }

  /** A new, empty table (one per test keeps tests independent on one server). */
  async createTable(): Promise<LocalTable> {
    const tableName = `spe-test-${++this.tables}`;
    const raw = this.newClient();
    await raw.send(new CreateTableCommand(tableDefinition(tableName)));
    for (let i = 0; ; i++) {
      const d = await raw.send(new DescribeTableCommand({ TableName: tableName }));
      if (d.Table?.TableStatus === "ACTIVE") break;
      if (i > 200) throw new Error("the local table did not become ACTIVE");
      await new Promise((r) => setTimeout(r, 5));
    }
    const client = this.newClient();
    emulateTransactions(client, raw);
    return { client, raw, tableName };
  }

  async close(): Promise<void> {
    for (const c of this.clients) c.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** What a fault injector decides for one request. */
export type Fault = { before: Error } | { after: Error } | undefined;

/**
 * Injects failures into a client's requests: `before` fails the request without sending it, `after` sends
 * it (it is applied) and then fails as if the response had been lost.
 */
export function injectFaults(client: DynamoDBClient, decide: (command: string, input: unknown) => Fault): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const fault = decide(context.commandName ?? "", args.input);
      if (fault && "before" in fault) throw fault.before;
      const out = await next(args);
      if (fault && "after" in fault) throw fault.after;
      return out;
    },
    { step: "initialize", name: "injectFaults", priority: "high" },
  );
}

function emulateTransactions(client: DynamoDBClient, raw: DynamoDBClient): void {
  let queue: Promise<unknown> = Promise.resolve();
  const tokens = new Map<string, string>();
  client.middlewareStack.add(
    (next, context) => (args) => {
      const run = async () => {
        if (context.commandName !== "TransactWriteItemsCommand") return next(args);
        await transact(raw, args.input as TransactWriteItemsCommandInput, tokens);
        return { output: { $metadata: {} }, response: undefined } as Awaited<ReturnType<typeof next>>;
      };
      const result = queue.then(run, run);
      queue = result.catch(() => undefined);
      return result;
    },
    { step: "initialize", name: "emulateTransactions", priority: "low" },
  );
}

const serviceError = (name: string, message: string) =>
  new DynamoDBServiceException({ name, $fault: "client", $metadata: { httpStatusCode: 400 }, message });

function keyOf(t: TransactWriteItem): { table: string; key: Item } {
  const op = t.Put ?? t.Update ?? t.Delete ?? t.ConditionCheck;
  if (!op?.TableName) throw serviceError("ValidationException", "a transaction item needs exactly one operation");
  const source = t.Put ? t.Put.Item : (t.Update ?? t.Delete ?? t.ConditionCheck)?.Key;
  const pk = source?.[TABLE_KEY.partition];
  const sk = source?.[TABLE_KEY.sort];
  if (!pk || !sk) throw serviceError("ValidationException", "The provided key element does not match the schema");
  return { table: op.TableName, key: { [TABLE_KEY.partition]: pk, [TABLE_KEY.sort]: sk } };
}

async function transact(raw: DynamoDBClient, input: TransactWriteItemsCommandInput, tokens: Map<string, string>) {
  const items = input.TransactItems ?? [];
  if (items.length < 1 || items.length > 100) {
    throw serviceError("ValidationException", "Member must have length less than or equal to 100");
  }
  const fingerprint = JSON.stringify(items);
  if (input.ClientRequestToken && tokens.has(input.ClientRequestToken)) {
    if (tokens.get(input.ClientRequestToken) === fingerprint) return;
    throw serviceError("IdempotentParameterMismatchException", "the token was used with other parameters");
  }
  const keys = items.map(keyOf);
  const ids = new Set(keys.map((k) => JSON.stringify(k)));
  if (ids.size !== keys.length) {
    throw serviceError("ValidationException", "Transaction request cannot include multiple operations on one item");
  }
  const priors = await Promise.all(
    keys.map(
      async (k) => (await raw.send(new GetItemCommand({ TableName: k.table, Key: k.key, ConsistentRead: true }))).Item,
    ),
  );
  const applied: number[] = [];
  const codes: string[] = [];
  let fatal: unknown;
  for (const [i, t] of items.entries()) {
    if (fatal !== undefined) break;
    try {
      await apply(raw, t, priors[i]);
      applied.push(i);
      codes.push("None");
    } catch (err) {
      const conditional = (err as Error).name === "ConditionalCheckFailedException";
      if (!conditional) fatal = err;
      codes.push(conditional ? "ConditionalCheckFailed" : "None");
    }
  }
  const failed = fatal !== undefined || codes.some((c) => c !== "None");
  // Roll back what was applied when the transaction fails, and every ConditionCheck's probe write.
  for (const i of applied.reverse()) {
    if (!failed && !items[i]?.ConditionCheck) continue;
    const k = keys[i] as { table: string; key: Item };
    const prior = priors[i];
    if (prior) await raw.send(new PutItemCommand({ TableName: k.table, Item: prior }));
    else await raw.send(new DeleteItemCommand({ TableName: k.table, Key: k.key }));
  }
  if (fatal !== undefined) throw fatal;
  if (failed) {
    throw new TransactionCanceledException({
      message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${codes.join(", ")}]`,
      $metadata: { httpStatusCode: 400 },
      CancellationReasons: codes.map((Code) => ({ Code })),
    });
  }
  if (input.ClientRequestToken) tokens.set(input.ClientRequestToken, fingerprint);
}

async function apply(raw: DynamoDBClient, t: TransactWriteItem, prior: Item | undefined): Promise<void> {
  const expr = (o: { ExpressionAttributeNames?: Record<string, string>; ExpressionAttributeValues?: Item }) => ({
    ...(o.ExpressionAttributeNames ? { ExpressionAttributeNames: o.ExpressionAttributeNames } : {}),
    ...(o.ExpressionAttributeValues ? { ExpressionAttributeValues: o.ExpressionAttributeValues } : {}),
  });
  if (t.Put) {
    const { TableName, Item, ConditionExpression } = t.Put;
    await raw.send(new PutItemCommand({ TableName, Item, ConditionExpression, ...expr(t.Put) }));
  } else if (t.Delete) {
    const { TableName, Key, ConditionExpression } = t.Delete;
    await raw.send(new DeleteItemCommand({ TableName, Key, ConditionExpression, ...expr(t.Delete) }));
  } else if (t.Update) {
    const { TableName, Key, UpdateExpression, ConditionExpression } = t.Update;
    await raw.send(new UpdateItemCommand({ TableName, Key, UpdateExpression, ConditionExpression, ...expr(t.Update) }));
  } else if (t.ConditionCheck) {
    // Evaluated by writing the item back unchanged under the condition (rolled back afterwards).
    const { TableName, Key, ConditionExpression } = t.ConditionCheck;
    const Item = prior ?? Key ?? {};
    await raw.send(new PutItemCommand({ TableName, Item, ConditionExpression, ...expr(t.ConditionCheck) }));
  }
}

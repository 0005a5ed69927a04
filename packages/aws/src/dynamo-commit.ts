/**
 * `Store.commit` on DynamoDB: the entity writes, the idempotency record, the audit records and the new chain
 * head go in ONE TransactWriteItems, so they are applied together or not at all.
 *
 * Why the chain cannot fork: every audit item is put only if its seq does not exist yet, and the head item
 * only if it still holds the seq that was read. Two writers that read the same head both build seq N+1; one
 * transaction wins and the other is cancelled (nothing of it written), re-reads the head and tries again.
 *
 * Ambiguous failures (a lost connection, a 5xx after the request may have been applied) are retried with the
 * same ClientRequestToken: DynamoDB applies a token once, so a retry of a transaction that did land returns
 * success instead of writing twice.
 */
import { randomUUID } from "node:crypto";
import {
  type DynamoDBClient,
  GetItemCommand,
  type TransactWriteItem,
  TransactWriteItemsCommand,
} from "@aws-sdk/client-dynamodb";
import {
  type AuditRecord,
  AuditUnavailableError,
  assertAuditEvent,
  type Clock,
  type Commit,
  ConcurrentUpdateError,
  chainRecord,
  GENESIS_HASH,
  parseRecord,
  type StoredAuditRecord,
  ValidationError,
} from "@spe/core";
import {
  auditItem,
  auditKey,
  entityItem,
  headItem,
  headKey,
  idempotencyItem,
  isEntityKind,
  isKeyable,
  itemSize,
} from "./dynamo-items";
import {
  backoff,
  CommitTooLargeError,
  classify,
  FATAL_CODES,
  MAX_ITEM_BYTES,
  MAX_TRANSACTION_BYTES,
  MAX_TRANSACTION_ITEMS,
  type RetryPolicy,
  THROTTLED_CODES,
} from "./dynamo-retry";

export interface CommitContext {
  client: DynamoDBClient;
  tableName: string;
  clock: Clock;
  retry: RetryPolicy;
  idempotencyTtlSeconds: number | undefined;
}

/** What each item of the transaction is, to read its cancellation reason. */
type Role = { type: "entity"; kind: string; id: string } | { type: "idempotency"; key: string } | { type: "chain" };

interface Head {
  seq: number;
  hash: string;
}

interface Plan {
  items: TransactWriteItem[];
  roles: Role[];
  records: StoredAuditRecord[];
}

/** Applies a commit. See Store.commit for the promise; the errors are core's, plus CommitTooLargeError. */
export async function commitTransaction(ctx: CommitContext, commit: Commit): Promise<AuditRecord[]> {
  validate(commit);
  if (commit.writes.length === 0 && commit.audit.length === 0 && !commit.idempotency) return [];
  let races = 0;
  let transients = 0;
  /** Counts a transient failure; false once the budget is spent. */
  const transientAgain = async (): Promise<boolean> => {
    if (++transients >= ctx.retry.transientAttempts) return false;
    await backoff(ctx.retry, "transient", transients);
    return true;
  };

  for (;;) {
    const head = commit.audit.length > 0 ? await readHead(ctx, transientAgain) : { seq: 0, hash: GENESIS_HASH };
    const plan = build(ctx, commit, head);
    const token = randomUUID();
    // The same transaction (same token) until it is cancelled; then a new one from a fresh head.
    for (;;) {
      try {
        await ctx.client.send(new TransactWriteItemsCommand({ TransactItems: plan.items, ClientRequestToken: token }));
        return plan.records.map(parseRecord);
      } catch (err) {
        const failure = classify(err);
        if (failure.type === "transient") {
          if (await transientAgain()) continue;
          if (await landed(ctx, plan.records)) return plan.records.map(parseRecord);
          throw new AuditUnavailableError({ cause: err });
        }
        if (failure.type !== "cancelled") throw new AuditUnavailableError({ cause: err });
        const codes = failure.codes;
        const lost = codes?.findIndex((c, i) => c === "ConditionalCheckFailed" && plan.roles[i]?.type !== "chain");
        const role = lost === undefined || lost < 0 ? undefined : plan.roles[lost];
        if (role?.type === "entity") throw new ConcurrentUpdateError(role.kind, role.id);
        if (role?.type === "idempotency") throw new ConcurrentUpdateError("idempotency key", role.key);
        if (codes === null || codes.some((c) => FATAL_CODES.has(c))) throw new AuditUnavailableError({ cause: err });
        if (codes.some((c) => THROTTLED_CODES.has(c))) {
          if (!(await transientAgain())) throw new AuditUnavailableError({ cause: err });
        } else {
          // The head moved (another commit won the chain) or another transaction held an item: start over.
          if (++races >= ctx.retry.raceAttempts) throw new AuditUnavailableError({ cause: err });
          await backoff(ctx.retry, "race", races);
        }
        break;
      }
    }
  }
}

/** Refuses malformed or over-large commits before anything is read or sent. */
function validate(commit: Commit): void {
  const seen = new Set<string>();
  for (const w of commit.writes) {
    if (!isEntityKind(w.kind))
      throw new ValidationError("store.invalid_write", `unknown entity kind ${String(w.kind)}`);
    if (!isKeyable(w.item.id)) throw new ValidationError("store.invalid_write", `invalid ${w.kind} id`);
    if (w.expectedVersion !== null && !(Number.isSafeInteger(w.expectedVersion) && w.expectedVersion >= 0)) {
      throw new ValidationError("store.invalid_write", `invalid expected version of ${w.kind} ${w.item.id}`);
    }
    const key = `${w.kind}#${w.item.id}`;
    // DynamoDB refuses two operations on one item in a transaction; no use case needs it.
    if (seen.has(key)) throw new ValidationError("store.invalid_write", `a commit writes ${w.kind} ${w.item.id} twice`);
    seen.add(key);
  }
  const i = commit.idempotency;
  if (i && !(isKeyable(i.actor) && isKeyable(i.key))) {
    throw new ValidationError("store.invalid_write", "invalid idempotency actor or key");
  }
  try {
    for (const e of commit.audit) assertAuditEvent(e);
  } catch (cause) {
    // As on one node: a record the log refuses means the action is not performed.
    throw new AuditUnavailableError({ cause });
  }
  const items = commit.writes.length + (i ? 1 : 0) + commit.audit.length + (commit.audit.length > 0 ? 1 : 0);
  if (items > MAX_TRANSACTION_ITEMS) throw new CommitTooLargeError(`it needs ${items} items`);
}

async function readHead(ctx: CommitContext, transientAgain: () => Promise<boolean>): Promise<Head> {
  for (;;) {
    try {
      const res = await ctx.client.send(
        new GetItemCommand({ TableName: ctx.tableName, Key: headKey(), ConsistentRead: true }),
      );
      if (!res.Item) return { seq: 0, hash: GENESIS_HASH };
      const seq = Number(res.Item.seq?.N);
      const hash = res.Item.hash?.S;
      if (!Number.isSafeInteger(seq) || seq < 0 || hash === undefined)
        throw new Error("the audit chain head is malformed");
      return { seq, hash };
    } catch (err) {
      if (classify(err).type === "transient" && (await transientAgain())) continue;
      throw new AuditUnavailableError({ cause: err });
    }
  }
}

/** The transaction that applies `commit` on top of `head`. */
function build(ctx: CommitContext, commit: Commit, head: Head): Plan {
  const TableName = ctx.tableName;
  const items: TransactWriteItem[] = [];
  const roles: Role[] = [];
  for (const w of commit.writes) {
    const Item = entityItem(w, w.expectedVersion === null ? 1 : w.expectedVersion + 1);
    items.push({
      Put:
        w.expectedVersion === null
          ? { TableName, Item, ConditionExpression: "attribute_not_exists(pk)" }
          : {
              TableName,
              Item,
              ConditionExpression: "#version = :expected",
              ExpressionAttributeNames: { "#version": "version" },
              ExpressionAttributeValues: { ":expected": { N: String(w.expectedVersion) } },
            },
    });
    roles.push({ type: "entity", kind: w.kind, id: w.item.id });
  }
  if (commit.idempotency) {
    const Item = idempotencyItem(commit.idempotency, ctx.idempotencyTtlSeconds);
    items.push({ Put: { TableName, Item, ConditionExpression: "attribute_not_exists(pk)" } });
    roles.push({ type: "idempotency", key: commit.idempotency.key });
  }
  const records: StoredAuditRecord[] = [];
  if (commit.audit.length > 0) {
    const at = ctx.clock.now().toISOString();
    let prev = head.hash;
    for (const [i, event] of commit.audit.entries()) {
      const stored = chainRecord(event, head.seq + i + 1, at, prev);
      records.push(stored);
      prev = stored.hash;
      items.push({
        Put: { TableName, Item: auditItem(event, stored), ConditionExpression: "attribute_not_exists(pk)" },
      });
      roles.push({ type: "chain" });
    }
    const last = head.seq + commit.audit.length;
    items.push({
      Put:
        head.seq === 0
          ? { TableName, Item: headItem(last, prev), ConditionExpression: "attribute_not_exists(pk)" }
          : {
              TableName,
              Item: headItem(last, prev),
              ConditionExpression: "#seq = :seq",
              ExpressionAttributeNames: { "#seq": "seq" },
              ExpressionAttributeValues: { ":seq": { N: String(head.seq) } },
            },
    });
    roles.push({ type: "chain" });
  }
  let total = 0;
  for (const t of items) {
    const size = itemSize(t.Put?.Item ?? {});
    if (size > MAX_ITEM_BYTES) throw new CommitTooLargeError(`one item would be ${size} bytes`);
    total += size;
  }
  if (total > MAX_TRANSACTION_BYTES) throw new CommitTooLargeError(`it would be ${total} bytes`);
  return { items, roles, records };
}

/** After an ambiguous failure: whether the transaction did land (its last audit record is in the chain). */
async function landed(ctx: CommitContext, records: StoredAuditRecord[]): Promise<boolean> {
  const last = records.at(-1);
  if (!last) return false;
  try {
    const res = await ctx.client.send(
      new GetItemCommand({ TableName: ctx.tableName, Key: auditKey(last.seq), ConsistentRead: true }),
    );
    return res.Item?.hash?.S === last.hash;
  } catch {
    return false;
  }
}

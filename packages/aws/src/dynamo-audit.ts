/**
 * The reading side of the audit chain on DynamoDB (AuditLog), and its seals. Records are appended only by
 * `Store.commit` (dynamo-commit.ts). The chain partition is read with strongly consistent Queries; filtered
 * queries go through a GSI (eventually consistent: a record of the last moment may be missing).
 */
import { GetItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import {
  type AuditQuery,
  type AuditRecord,
  ConflictError,
  GENESIS_HASH,
  type Page,
  parseRecord,
  type Seal,
  type StoredAuditRecord,
  ValidationError,
} from "@spe/core";
import { AUDIT_PK, headKey, indexValue, pad, SEAL_PK, sealItem, sealKey, storedRecordOf } from "./dynamo-items";
import { assertLimit, collect, Expression, queryInput, type Reader, seqCursor } from "./dynamo-query";
import { readWithRetry } from "./dynamo-retry";
import type { TableIndexName } from "./table-schema";

export interface AuditContext extends Reader {
  tableName: string;
  scanPageSize: number;
}

/** Which index answers a query, most selective filter first; the plain attribute each filter compares. */
const QUERY_INDEXES: { field: "workspaceId" | "permitId" | "actor" | "action"; index: TableIndexName; key: string }[] =
  [
    { field: "workspaceId", index: "byWorkspace", key: "workspaceKey" },
    { field: "permitId", index: "byParent", key: "parent" },
    { field: "actor", index: "byOwner", key: "ownerKey" },
    { field: "action", index: "byKind", key: "kind" },
  ];

/** The same filters and order as SqliteStore.query: records with seq > max(after, cursor), in seq order. */
export async function queryAudit(ctx: AuditContext, q: AuditQuery): Promise<Page<AuditRecord>> {
  assertLimit(q.limit);
  if (q.after !== undefined && !(Number.isSafeInteger(q.after) && q.after >= 0)) {
    throw new ValidationError("audit.invalid_after", "after must be a non-negative integer", [
      { path: "after", message: "must be a non-negative integer" },
    ]);
  }
  const after = Math.max(q.after ?? 0, seqCursor.decode(q.cursor));
  const filter = new Expression("f");
  for (const { field } of QUERY_INDEXES) {
    const v = q[field];
    if (v !== undefined) filter.eq(field, v);
  }
  const use = QUERY_INDEXES.find((i) => q[i.field] !== undefined);
  const key = new Expression("k");
  if (use) {
    key.eq(use.key, indexValue(AUDIT_PK, q[use.field] as string));
    key.add(`${key.name("id")} > ${key.value({ S: pad(after) })}`);
  } else {
    key.eq("pk", AUDIT_PK);
    key.add(`${key.name("sk")} > ${key.value({ S: pad(after) })}`);
  }
  const items = await collect(ctx, queryInput(ctx.tableName, use?.index, key, filter), q.limit + 1);
  const records = items.slice(0, q.limit).map((i) => parseRecord(storedRecordOf(i)));
  const last = records.at(-1);
  return { items: records, next: items.length > q.limit && last ? seqCursor.encode(last.seq) : null };
}

/** Every record in seq order, page by page (strongly consistent), exactly as stored. Lazy. */
export async function* scanAudit(ctx: AuditContext): AsyncGenerator<StoredAuditRecord> {
  let after = 0;
  for (;;) {
    const key = new Expression("k").eq("pk", AUDIT_PK);
    key.add(`${key.name("sk")} > ${key.value({ S: pad(after) })}`);
    const page = await collect(ctx, queryInput(ctx.tableName, undefined, key, new Expression("f")), ctx.scanPageSize);
    for (const item of page) {
      const r = storedRecordOf(item);
      yield r;
      after = r.seq;
    }
    if (page.length < ctx.scanPageSize) return;
  }
}

export async function auditHead(ctx: AuditContext): Promise<{ count: number; hash: string }> {
  const res = await readWithRetry(ctx.retry, () =>
    ctx.client.send(new GetItemCommand({ TableName: ctx.tableName, Key: headKey(), ConsistentRead: true })),
  );
  if (!res.Item) return { count: 0, hash: GENESIS_HASH };
  return { count: Number(res.Item.seq?.N), hash: res.Item.hash?.S ?? GENESIS_HASH };
}

/**
 * Appends seal `n`: only if there is no seal `n` yet (two sealers cannot both write it) and seal `n - 1`
 * exists (no gap). Seals are never rewritten.
 * @throws ConflictError `audit.seal_exists` when seal `n` exists.
 */
export async function appendSeal(ctx: AuditContext, seal: Seal): Promise<void> {
  if (!Number.isSafeInteger(seal.n) || seal.n < 1) {
    throw new ValidationError("audit.invalid_seal", "a seal number is a positive integer");
  }
  if (seal.n > 1) {
    const prev = await readWithRetry(ctx.retry, () =>
      ctx.client.send(new GetItemCommand({ TableName: ctx.tableName, Key: sealKey(seal.n - 1), ConsistentRead: true })),
    );
    if (!prev.Item)
      throw new ConflictError("audit.seal_gap", `seal ${seal.n - 1} is missing, so seal ${seal.n} cannot follow it`);
  }
  const item = sealItem(seal);
  try {
    await readWithRetry(ctx.retry, () =>
      ctx.client.send(
        new PutItemCommand({ TableName: ctx.tableName, Item: item, ConditionExpression: "attribute_not_exists(pk)" }),
      ),
    );
  } catch (err) {
    if ((err as { name?: unknown }).name !== "ConditionalCheckFailedException") throw err;
    // A retry of our own put that had landed finds our seal: that is success, anything else is a fork.
    const existing = await readWithRetry(ctx.retry, () =>
      ctx.client.send(new GetItemCommand({ TableName: ctx.tableName, Key: sealKey(seal.n), ConsistentRead: true })),
    );
    if (existing.Item?.body?.S !== item.body?.S) {
      throw new ConflictError("audit.seal_exists", `seal ${seal.n} already exists`);
    }
  }
}

export async function listSeals(ctx: AuditContext): Promise<Seal[]> {
  const key = new Expression("k").eq("pk", SEAL_PK);
  const items = await collect(
    ctx,
    queryInput(ctx.tableName, undefined, key, new Expression("f")),
    Number.MAX_SAFE_INTEGER,
  );
  return items.map((i) => JSON.parse(i.body?.S ?? "null") as Seal);
}

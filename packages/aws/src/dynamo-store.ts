/**
 * Store and AuditLog on one DynamoDB table: the AWS counterpart of packages/local's SqliteStore, with the
 * same semantics (the shared contract suite in test/contracts/store-contract.ts runs against both).
 *
 * - get / getIdempotency / the audit chain: strongly consistent reads of the base table.
 * - list: a Query on the GSI that matches the most selective filter, the other filters as a FilterExpression,
 *   read until the page is full. GSIs are eventually consistent: a list may miss a write of the last moment.
 * - commit: one TransactWriteItems (dynamo-commit.ts), at most 100 items: larger commits are refused
 *   (CommitTooLargeError), never split, so that a commit stays all or nothing.
 * Layout of the items: dynamo-items.ts; the indexes: table-schema.ts.
 */
import { type DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";
import {
  type AuditLog,
  type AuditQuery,
  type AuditRecord,
  type Clock,
  type Commit,
  type EntityKind,
  type EntityMap,
  type IdempotencyRecord,
  type ListFilter,
  type Page,
  type Seal,
  type Store,
  type StoredAuditRecord,
  ValidationError,
  type Versioned,
} from "@spe/core";
import { type AuditContext, appendSeal, auditHead, listSeals, queryAudit, scanAudit } from "./dynamo-audit";
import { type CommitContext, commitTransaction } from "./dynamo-commit";
import {
  entityKey,
  idempotencyKey,
  idempotencyOf,
  indexValue,
  isEntityKind,
  isKeyable,
  versionedOf,
} from "./dynamo-items";
import { assertLimit, collect, Expression, FILTERED_BATCH, idCursor, MAX_PAGE, queryInput } from "./dynamo-query";
import { DEFAULT_RETRY, type RetryPolicy, readWithRetry } from "./dynamo-retry";
import type { TableIndexName } from "./table-schema";

export interface DynamoStoreOptions {
  client: DynamoDBClient;
  /** The table stacks/state.ts deploys (keys and GSIs of table-schema.ts). */
  tableName: string;
  /** Stamps `at` on audit records. */
  clock: Clock;
  /**
   * Lets DynamoDB's TTL delete idempotency records this long after their creation; a key used again after
   * that creates a new resource. @default undefined: kept for good
   */
  idempotencyTtlSeconds?: number;
  /** Records per Query page when scanning the chain (1-1000). @default 1000 */
  scanPageSize?: number;
  /** Items read per Query call when a list or audit query filters (1-1000). @default 200 */
  filteredBatch?: number;
  /** Bounds and backoff of the retries. @default DEFAULT_RETRY */
  retry?: Partial<RetryPolicy>;
}

/** Which index answers a list, most selective filter first. */
const LIST_INDEXES: { field: "workspaceId" | "permitId" | "owner"; index: TableIndexName; key: string }[] = [
  { field: "workspaceId", index: "byWorkspace", key: "workspaceKey" },
  { field: "permitId", index: "byParent", key: "parent" },
  { field: "owner", index: "byOwner", key: "ownerKey" },
];

/** DynamoDB's IN takes at most 100 operands. */
const MAX_STATUSES = 100;

export class DynamoStore implements Store, AuditLog {
  private readonly client: DynamoDBClient;
  private readonly tableName: string;
  private readonly retry: RetryPolicy;
  private readonly commitCtx: CommitContext;
  private readonly auditCtx: AuditContext;

  /** @throws Error when an option is out of range (a deployment mistake, found at cold start). */
  constructor(opts: DynamoStoreOptions) {
    if (!/^[A-Za-z0-9_.-]{3,255}$/.test(opts.tableName)) {
      throw new Error(`invalid DynamoDB table name ${JSON.stringify(opts.tableName)}: use 3-255 of A-Z a-z 0-9 _ . -`);
    }
    const ttl = opts.idempotencyTtlSeconds;
    if (ttl !== undefined && !(Number.isSafeInteger(ttl) && ttl >= 3600)) {
      throw new Error(`idempotencyTtlSeconds must be an integer of at least 3600 (got ${ttl})`);
    }
    const scanPageSize = pageOption("scanPageSize", opts.scanPageSize ?? MAX_PAGE);
    const filteredBatch = pageOption("filteredBatch", opts.filteredBatch ?? FILTERED_BATCH);
    this.client = opts.client;
    this.tableName = opts.tableName;
    this.retry = { ...DEFAULT_RETRY, ...opts.retry };
    if (this.retry.raceAttempts < 1 || this.retry.transientAttempts < 1) throw new Error("retry attempts must be >= 1");
    this.commitCtx = {
      client: this.client,
      tableName: this.tableName,
      clock: opts.clock,
      retry: this.retry,
      idempotencyTtlSeconds: ttl,
    };
    this.auditCtx = { client: this.client, tableName: this.tableName, retry: this.retry, scanPageSize, filteredBatch };
  }

  async get<K extends EntityKind>(kind: K, id: string): Promise<Versioned<EntityMap[K]> | null> {
    assertKind(kind);
    // An id that could not be a key was never stored.
    if (!isKeyable(id)) return null;
    const res = await readWithRetry(this.retry, () =>
      this.client.send(
        new GetItemCommand({ TableName: this.tableName, Key: entityKey(kind, id), ConsistentRead: true }),
      ),
    );
    return res.Item ? (versionedOf(res.Item) as Versioned<EntityMap[K]>) : null;
  }

  /** Ordered by id; the filters mean what they mean for SqliteStore (see listAttributes in dynamo-items.ts). */
  async list<K extends EntityKind>(
    kind: K,
    filter: ListFilter,
    page: { limit: number; cursor?: string },
  ): Promise<Page<Versioned<EntityMap[K]>>> {
    assertKind(kind);
    assertLimit(page.limit);
    const after = idCursor.decode(page.cursor);
    const statuses = filter.status ? [...new Set(filter.status)] : undefined;
    if (statuses && statuses.length > MAX_STATUSES) {
      throw new ValidationError("page.invalid_filter", `filter on at most ${MAX_STATUSES} statuses`);
    }
    // `status IN ()` matches nothing on one node too.
    if (statuses?.length === 0) return { items: [], next: null };

    const f = new Expression("f");
    for (const { field } of LIST_INDEXES) {
      const v = filter[field];
      if (v !== undefined) f.eq(field, v);
    }
    if (statuses) f.add(`${f.name("status")} IN (${statuses.map((s) => f.value({ S: s })).join(", ")})`);
    if (filter.researcher !== undefined)
      f.add(`contains(${f.name("researchers")}, ${f.value({ S: filter.researcher })})`);

    const use = LIST_INDEXES.find((i) => filter[i.field] !== undefined);
    const key = new Expression("k");
    if (use) key.eq(use.key, indexValue(kind, filter[use.field] as string));
    else key.eq("kind", kind);
    if (after !== undefined) key.add(`${key.name("id")} > ${key.value({ S: after })}`);

    const input = queryInput(this.tableName, use?.index ?? "byKind", key, f);
    const items = await collect(this.auditCtx, input, page.limit + 1);
    const shown = items.slice(0, page.limit);
    const last = shown.at(-1)?.id?.S;
    return {
      items: shown.map((i) => versionedOf(i) as Versioned<EntityMap[K]>),
      next: items.length > page.limit && last !== undefined ? idCursor.encode(last) : null,
    };
  }

  /**
   * Applies every write and appends every audit event in one transaction: all or nothing.
   * @throws ConcurrentUpdateError when a write's expected version does not match (or the idempotency key exists).
   * @throws AuditUnavailableError when the audit append fails after bounded retries: nothing was written.
   * @throws CommitTooLargeError (`store.commit_too_large`) above 100 items, 400 KB per item or 4 MB in all.
   */
  commit(commit: Commit): Promise<AuditRecord[]> {
    return commitTransaction(this.commitCtx, commit);
  }

  async getIdempotency(actor: string, key: string): Promise<IdempotencyRecord | null> {
    if (!isKeyable(actor) || !isKeyable(key)) return null;
    const res = await readWithRetry(this.retry, () =>
      this.client.send(
        new GetItemCommand({ TableName: this.tableName, Key: idempotencyKey(actor, key), ConsistentRead: true }),
      ),
    );
    return res.Item ? idempotencyOf(actor, key, res.Item) : null;
  }

  // --- AuditLog ---

  query(q: AuditQuery): Promise<Page<AuditRecord>> {
    return queryAudit(this.auditCtx, q);
  }

  scan(): AsyncIterable<StoredAuditRecord> {
    return scanAudit(this.auditCtx);
  }

  head(): Promise<{ count: number; hash: string }> {
    return auditHead(this.auditCtx);
  }

  appendSeal(seal: Seal): Promise<void> {
    return appendSeal(this.auditCtx, seal);
  }

  seals(): Promise<Seal[]> {
    return listSeals(this.auditCtx);
  }
}

function pageOption(name: string, n: number): number {
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_PAGE) {
    throw new Error(`${name} must be an integer from 1 to ${MAX_PAGE} (got ${n})`);
  }
  return n;
}

function assertKind(kind: string): void {
  if (!isEntityKind(kind))
    throw new ValidationError("store.invalid_kind", `unknown entity kind ${JSON.stringify(kind)}`);
}

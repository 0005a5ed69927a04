/**
 * Store and AuditLog on SQLite (better-sqlite3, WAL, synchronous=FULL so a commit is durable when it
 * returns). A commit applies its conditional writes and appends its audit records in one transaction.
 */

import { chmodSync, existsSync } from "node:fs";
import {
  type AuditEvent,
  type AuditLog,
  type AuditQuery,
  type AuditRecord,
  AuditUnavailableError,
  type Clock,
  type Commit,
  ConcurrentUpdateError,
  chainRecord,
  decodeCursor,
  type EntityKind,
  type EntityMap,
  encodeCursor,
  GENESIS_HASH,
  type IdempotencyRecord,
  type ListFilter,
  type Page,
  parseRecord,
  type Seal,
  type Store,
  type StoredAuditRecord,
  type Versioned,
} from "@spe/core";
import Database from "better-sqlite3";
import { SCHEMA } from "./sqlite-schema";

type Row = { version: number; body: string };

const SCAN_CHUNK = 4096;

export interface SqliteStoreOptions {
  /** Opens the database read-only (offline verification); no schema changes, no writes. */
  readonly?: boolean;
}

export class SqliteStore implements Store, AuditLog {
  readonly db: Database.Database;
  private readonly stmts;

  constructor(
    path: string,
    private readonly clock: Clock,
    opts: SqliteStoreOptions = {},
  ) {
    this.db = new Database(path, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false });
    if (!opts.readonly) {
      this.db.pragma("journal_mode = WAL");
      this.db.pragma("synchronous = FULL");
      this.db.pragma("busy_timeout = 5000");
      this.db.exec(SCHEMA);
      migrate(this.db);
      // Only the controller's user may read the state and the audit trail.
      for (const suffix of ["", "-wal", "-shm"]) if (existsSync(path + suffix)) chmodSync(path + suffix, 0o600);
    }
    this.stmts = {
      get: this.db.prepare<[string, string], Row>("SELECT version, body FROM entities WHERE kind = ? AND id = ?"),
      insert: this.db.prepare(
        `INSERT INTO entities (kind, id, version, owner, permit_id, status, body) VALUES (?, ?, 1, ?, ?, ?, ?)
         ON CONFLICT (kind, id) DO NOTHING`,
      ),
      update: this.db.prepare(
        `UPDATE entities SET version = version + 1, owner = ?, permit_id = ?, status = ?, body = ?
         WHERE kind = ? AND id = ? AND version = ?`,
      ),
      idemGet: this.db.prepare<[string, string], Record<string, string>>(
        "SELECT * FROM idempotency WHERE actor = ? AND key = ?",
      ),
      idemPut: this.db.prepare(
        `INSERT INTO idempotency (actor, key, scope, request_hash, resource_id, created_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (actor, key) DO NOTHING`,
      ),
      head: this.db.prepare<[], { seq: number; hash: string }>("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1"),
      append: this.db.prepare("INSERT INTO audit (seq, hash, body) VALUES (?, ?, ?)"),
      scan: this.db.prepare("SELECT seq, hash, body FROM audit WHERE seq > ? ORDER BY seq LIMIT ?").raw(),
      seals: this.db.prepare<[], { body: string }>("SELECT body FROM audit_seals ORDER BY n"),
      sealPut: this.db.prepare("INSERT INTO audit_seals (n, body) VALUES (?, ?)"),
    };
  }

  async get<K extends EntityKind>(kind: K, id: string): Promise<Versioned<EntityMap[K]> | null> {
    const row = this.stmts.get.get(kind, id);
    return row ? { version: row.version, item: JSON.parse(row.body) } : null;
  }

  async list<K extends EntityKind>(
    kind: K,
    filter: ListFilter,
    page: { limit: number; cursor?: string },
  ): Promise<Page<Versioned<EntityMap[K]>>> {
    const where = ["kind = ?"];
    const args: unknown[] = [kind];
    if (filter.owner !== undefined) where.push("owner = ?") && args.push(filter.owner);
    if (filter.permitId !== undefined) where.push("permit_id = ?") && args.push(filter.permitId);
    if (filter.workspaceId !== undefined) where.push("workspace_id = ?") && args.push(filter.workspaceId);
    if (filter.status) {
      where.push(`status IN (${filter.status.map(() => "?").join(", ")})`);
      args.push(...filter.status);
    }
    if (filter.researcher !== undefined) {
      where.push("EXISTS (SELECT 1 FROM json_each(body, '$.researchers') WHERE value = ?)");
      args.push(filter.researcher);
    }
    const after = decodeCursor(page.cursor);
    if (after !== undefined) where.push("id > ?") && args.push(after);
    const rows = this.prepared<Row & { id: string }>(
      `SELECT id, version, body FROM entities WHERE ${where.join(" AND ")} ORDER BY id LIMIT ?`,
    ).all(...args, page.limit + 1);
    const more = rows.length > page.limit;
    const items = rows.slice(0, page.limit);
    return {
      items: items.map((r) => ({ version: r.version, item: JSON.parse(r.body) })),
      next: more ? encodeCursor((items.at(-1) as { id: string }).id) : null,
    };
  }

  /** Statements built from filters are few (one per combination of filters): prepare each once. */
  private readonly statements = new Map<string, Database.Statement<unknown[], unknown>>();
  private prepared<R>(sql: string): Database.Statement<unknown[], R> {
    let stmt = this.statements.get(sql);
    if (!stmt) {
      stmt = this.db.prepare<unknown[], unknown>(sql);
      this.statements.set(sql, stmt);
    }
    return stmt as Database.Statement<unknown[], R>;
  }

  async getIdempotency(actor: string, key: string): Promise<IdempotencyRecord | null> {
    const r = this.stmts.idemGet.get(actor, key);
    if (!r) return null;
    return {
      actor: r.actor as string,
      key: r.key as string,
      scope: r.scope as string,
      requestHash: r.request_hash as string,
      resourceId: r.resource_id as string,
      createdAt: r.created_at as string,
    };
  }

  /**
   * Group commit: commits requested in the same turn of the event loop share one transaction and so one
   * fsync; each runs inside its own savepoint, so one that fails (a lost race, a refused audit append)
   * is rolled back alone and the others still commit. Every promise settles only after the fsync.
   */
  commit(commit: Commit): Promise<AuditRecord[]> {
    return new Promise((resolve, reject) => {
      this.pending.push({ commit, resolve, reject });
      if (this.pending.length === 1) setImmediate(this.flush);
    });
  }

  private pending: { commit: Commit; resolve: (r: AuditRecord[]) => void; reject: (e: unknown) => void }[] = [];

  private readonly flush = (): void => {
    const batch = this.pending;
    this.pending = [];
    const outcomes: ({ ok: true; records: AuditRecord[] } | { ok: false; error: unknown })[] = [];
    try {
      this.db.exec("BEGIN IMMEDIATE");
      for (const { commit } of batch) {
        this.db.exec("SAVEPOINT one_commit");
        try {
          outcomes.push({ ok: true, records: this.apply(commit) });
          this.db.exec("RELEASE one_commit");
        } catch (error) {
          this.db.exec("ROLLBACK TO one_commit; RELEASE one_commit");
          outcomes.push({ ok: false, error });
        }
      }
      this.db.exec("COMMIT");
    } catch (cause) {
      if (this.db.inTransaction) this.db.exec("ROLLBACK");
      for (const { reject } of batch) reject(new AuditUnavailableError({ cause }));
      return;
    }
    batch.forEach(({ resolve, reject }, i) => {
      const o = outcomes[i] as (typeof outcomes)[number];
      if (o.ok) resolve(o.records);
      else reject(o.error);
    });
  };

  private apply(commit: Commit): AuditRecord[] {
    for (const w of commit.writes) {
      const item = w.item as unknown as Record<string, unknown>;
      // Who a researcher's own things belong to: a workspace's or job's owner, an egress request's requester.
      const owner = ((item.owner ?? item.requester) as string | undefined) ?? null;
      const permitId = w.kind === "permit" || w.kind === "dataset" ? null : ((item.permitId as string) ?? null);
      const status = (item.status as string | undefined) ?? null;
      const body = JSON.stringify(w.item);
      const res =
        w.expectedVersion === null
          ? this.stmts.insert.run(w.kind, w.item.id, owner, permitId, status, body)
          : this.stmts.update.run(owner, permitId, status, body, w.kind, w.item.id, w.expectedVersion);
      if (res.changes !== 1) throw new ConcurrentUpdateError(w.kind, w.item.id);
    }
    if (commit.idempotency) {
      const i = commit.idempotency;
      const res = this.stmts.idemPut.run(i.actor, i.key, i.scope, i.requestHash, i.resourceId, i.createdAt);
      if (res.changes !== 1) throw new ConcurrentUpdateError("idempotency key", i.key);
    }
    try {
      return this.append(commit.audit);
    } catch (err) {
      throw new AuditUnavailableError({ cause: err });
    }
  }

  private append(events: AuditEvent[]): AuditRecord[] {
    if (events.length === 0) return [];
    const head = this.stmts.head.get();
    let seq = head?.seq ?? 0;
    let prev = head?.hash ?? GENESIS_HASH;
    const at = this.clock.now().toISOString();
    return events.map((event) => {
      const stored = chainRecord(event, ++seq, at, prev);
      this.stmts.append.run(stored.seq, stored.hash, stored.body);
      prev = stored.hash;
      return parseRecord(stored);
    });
  }

  // --- AuditLog ---

  async query(q: AuditQuery): Promise<Page<AuditRecord>> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.permitId !== undefined) where.push("permit_id = ?") && args.push(q.permitId);
    if (q.workspaceId !== undefined) where.push("workspace_id = ?") && args.push(q.workspaceId);
    if (q.actor !== undefined) where.push("actor = ?") && args.push(q.actor);
    if (q.action !== undefined) where.push("action = ?") && args.push(q.action);
    const after = Math.max(q.after ?? 0, q.cursor ? Number(decodeCursor(q.cursor)) || 0 : 0);
    where.push("seq > ?") && args.push(after);
    const rows = this.prepared<StoredAuditRecord>(
      `SELECT seq, hash, body FROM audit WHERE ${where.join(" AND ")} ORDER BY seq LIMIT ?`,
    ).all(...args, q.limit + 1);
    const more = rows.length > q.limit;
    const items = rows.slice(0, q.limit).map(parseRecord);
    return { items, next: more ? encodeCursor(String(items.at(-1)?.seq)) : null };
  }

  /**
   * Reads the chain in chunks of raw rows (faster than an object per row, and the connection is free
   * between chunks, unlike with iterate()). Lazy: nothing is read until the caller iterates.
   */
  scan(): Iterable<StoredAuditRecord> {
    const stmt = this.stmts.scan;
    return {
      *[Symbol.iterator]() {
        for (let after = 0; ; ) {
          const rows = stmt.all(after, SCAN_CHUNK) as [number, string, string][];
          for (const [seq, hash, body] of rows) yield { seq, hash, body };
          if (rows.length < SCAN_CHUNK) return;
          after = (rows[rows.length - 1] as [number, string, string])[0];
        }
      },
    };
  }

  async head(): Promise<{ count: number; hash: string }> {
    const h = this.stmts.head.get();
    return { count: h?.seq ?? 0, hash: h?.hash ?? GENESIS_HASH };
  }

  async appendSeal(seal: Seal): Promise<void> {
    this.stmts.sealPut.run(seal.n, JSON.stringify(seal));
  }

  async seals(): Promise<Seal[]> {
    return this.stmts.seals.all().map((r) => JSON.parse(r.body) as Seal);
  }

  close(): void {
    if (this.pending.length > 0) this.flush();
    if (this.db.open) this.db.close();
  }
}

/** Schema changes after the first release, applied in place. */
function migrate(db: Database.Database): void {
  const columns = db.prepare("PRAGMA table_xinfo(entities)").all() as { name: string }[];
  if (!columns.some((c) => c.name === "workspace_id")) {
    // Generated from the body, like the audit search columns: jobs and egress requests list by workspace.
    db.exec(
      "ALTER TABLE entities ADD COLUMN workspace_id TEXT GENERATED ALWAYS AS (json_extract(body, '$.workspaceId')) VIRTUAL",
    );
  }
  db.exec("CREATE INDEX IF NOT EXISTS entities_workspace ON entities (kind, workspace_id, status, id)");
}

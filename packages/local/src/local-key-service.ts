/**
 * KeyService for one node. Each permit has a data-encryption key and a pseudonymisation key (32 random
 * bytes each), stored only wrapped (AES-256-GCM, bound to the permit id) under the node master key.
 * Destroying a permit's key deletes its wrapped row with SQLite's secure_delete on and checkpoints the WAL,
 * so the database no longer holds it: every object encrypted under it becomes unrecoverable.
 * The master key is behind the small `KeyWrapper` interface so an HSM or a cloud KMS can replace the file.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConflictError, type KeyService, type PermitKeys, UnavailableError } from "@spe/core";
import type Database from "better-sqlite3";

/** Wraps and unwraps small secrets under a key that never leaves it. */
export interface KeyWrapper {
  wrap(plaintext: Uint8Array, context: string): Uint8Array;
  /** @throws when the blob was not wrapped under this key and context, or was altered. */
  unwrap(wrapped: Uint8Array, context: string): Uint8Array;
}

const VERSION = 1;

/** The node master key: 32 random bytes in `<keysDir>/master.key`, mode 0600, created on first start. */
export class FileMasterKey implements KeyWrapper {
  private readonly key: Buffer;

  constructor(keysDir: string, opts: { create: boolean }) {
    const path = join(keysDir, "master.key");
    if (!existsSync(path)) {
      if (!opts.create) {
        throw new Error(
          `permit keys exist but the master key ${path} is missing: restore it from its backup before starting`,
        );
      }
      mkdirSync(keysDir, { recursive: true, mode: 0o700 });
      writeFileSync(path, randomBytes(32), { mode: 0o600, flag: "wx" });
    }
    chmodSync(path, 0o600);
    this.key = readFileSync(path);
    if (this.key.length !== 32) throw new Error(`${path} must hold exactly 32 bytes`);
  }

  wrap(plaintext: Uint8Array, context: string): Uint8Array {
    const nonce = randomBytes(12);
    const c = createCipheriv("aes-256-gcm", this.key, nonce).setAAD(Buffer.from(context));
    const body = Buffer.concat([c.update(plaintext), c.final()]);
    return Buffer.concat([Buffer.from([VERSION]), nonce, body, c.getAuthTag()]);
  }

  unwrap(wrapped: Uint8Array, context: string): Uint8Array {
    const b = Buffer.from(wrapped);
    if (b[0] !== VERSION || b.length < 1 + 12 + 16) throw new Error("not a wrapped key of this version");
    const d = createDecipheriv("aes-256-gcm", this.key, b.subarray(1, 13)).setAAD(Buffer.from(context));
    d.setAuthTag(b.subarray(b.length - 16));
    return Buffer.concat([d.update(b.subarray(13, b.length - 16)), d.final()]);
  }
}

export const PERMIT_KEYS_SCHEMA = `
CREATE TABLE IF NOT EXISTS permit_keys (
  permit_id TEXT PRIMARY KEY,
  wrapped BLOB NOT NULL,
  created_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS destroyed_permit_keys (
  permit_id TEXT PRIMARY KEY,
  destroyed_at TEXT NOT NULL
) WITHOUT ROWID;
`;

const context = (permitId: string) => `spe permit keys v1\u0000${permitId}`;

export class LocalKeyService implements KeyService {
  constructor(
    private readonly db: Database.Database,
    private readonly master: KeyWrapper,
    private readonly now: () => Date = () => new Date(),
  ) {
    db.exec(PERMIT_KEYS_SCHEMA);
    // Deleted rows are overwritten with zeros rather than left in free pages.
    db.pragma("secure_delete = ON");
  }

  /** Whether any wrapped key exists (a node with keys must not start with a fresh master key). */
  static hasKeys(db: Database.Database): boolean {
    db.exec(PERMIT_KEYS_SCHEMA);
    return db.prepare("SELECT 1 FROM permit_keys LIMIT 1").get() !== undefined;
  }

  async createPermitKey(permitId: string): Promise<void> {
    if (this.db.prepare("SELECT 1 FROM destroyed_permit_keys WHERE permit_id = ?").get(permitId)) {
      throw new ConflictError("permit.key_destroyed", `the keys of permit ${permitId} were destroyed`);
    }
    const wrapped = this.master.wrap(Buffer.concat([randomBytes(32), randomBytes(32)]), context(permitId));
    this.db
      .prepare("INSERT OR IGNORE INTO permit_keys (permit_id, wrapped, created_at) VALUES (?, ?, ?)")
      .run(permitId, Buffer.from(wrapped), this.now().toISOString());
  }

  async permitKeys(permitId: string): Promise<PermitKeys> {
    const row = this.db.prepare("SELECT wrapped FROM permit_keys WHERE permit_id = ?").get(permitId) as
      | { wrapped: Buffer }
      | undefined;
    if (!row) {
      if (this.db.prepare("SELECT 1 FROM destroyed_permit_keys WHERE permit_id = ?").get(permitId)) {
        throw new ConflictError(
          "permit.key_destroyed",
          `the data of permit ${permitId} was crypto-shredded: its keys were destroyed`,
        );
      }
      throw new UnavailableError("permit.key_missing", `permit ${permitId} has no keys on this node`);
    }
    const plain = this.master.unwrap(row.wrapped, context(permitId));
    return { dataKey: plain.subarray(0, 32), pseudonymKey: plain.subarray(32, 64) };
  }

  async destroyPermitKey(permitId: string): Promise<boolean> {
    const destroy = this.db.transaction(() => {
      const { changes } = this.db.prepare("DELETE FROM permit_keys WHERE permit_id = ?").run(permitId);
      this.db
        .prepare("INSERT OR IGNORE INTO destroyed_permit_keys (permit_id, destroyed_at) VALUES (?, ?)")
        .run(permitId, this.now().toISOString());
      return changes > 0;
    });
    const existed = destroy();
    // The WAL still holds page images with the wrapped key until checkpointed and truncated; a reader
    // can hold the checkpoint back, so retry, and fail (the sweeper tries again) rather than claim success.
    for (let attempt = 0; ; attempt++) {
      const [r] = this.db.pragma("wal_checkpoint(TRUNCATE)") as { busy: number; log: number; checkpointed: number }[];
      if (r && r.busy === 0 && r.log === r.checkpointed) break;
      if (attempt >= 20) throw new Error("the database's write-ahead log could not be checkpointed; retry later");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return existed;
  }
}

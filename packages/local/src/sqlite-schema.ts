/** The SQLite schema of a node's state and audit chain. Audit tables are append-only by trigger. */
export const SCHEMA = `
CREATE TABLE IF NOT EXISTS entities (
  kind TEXT NOT NULL,
  id TEXT NOT NULL,
  version INTEGER NOT NULL,
  owner TEXT,
  permit_id TEXT,
  status TEXT,
  body TEXT NOT NULL,
  PRIMARY KEY (kind, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS entities_owner ON entities (kind, owner, id);
CREATE INDEX IF NOT EXISTS entities_permit ON entities (kind, permit_id, status, id);
CREATE INDEX IF NOT EXISTS entities_status ON entities (kind, status, id);

CREATE TABLE IF NOT EXISTS idempotency (
  actor TEXT NOT NULL,
  key TEXT NOT NULL,
  scope TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  resource_id TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (actor, key)
) WITHOUT ROWID;

-- The searchable columns are generated from the hashed body, so they cannot disagree with it.
CREATE TABLE IF NOT EXISTS audit (
  seq INTEGER PRIMARY KEY,
  hash TEXT NOT NULL,
  body TEXT NOT NULL,
  actor TEXT GENERATED ALWAYS AS (json_extract(body, '$.actor')) VIRTUAL,
  action TEXT GENERATED ALWAYS AS (json_extract(body, '$.action')) VIRTUAL,
  permit_id TEXT GENERATED ALWAYS AS (json_extract(body, '$.details.permitId')) VIRTUAL,
  workspace_id TEXT GENERATED ALWAYS AS (json_extract(body, '$.details.workspaceId')) VIRTUAL
);
CREATE INDEX IF NOT EXISTS audit_permit ON audit (permit_id, seq);
CREATE INDEX IF NOT EXISTS audit_workspace ON audit (workspace_id, seq);
CREATE INDEX IF NOT EXISTS audit_actor ON audit (actor, seq);
CREATE INDEX IF NOT EXISTS audit_action ON audit (action, seq);

CREATE TABLE IF NOT EXISTS audit_seals (
  n INTEGER PRIMARY KEY,
  body TEXT NOT NULL
);

CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
CREATE TRIGGER IF NOT EXISTS seals_no_update BEFORE UPDATE ON audit_seals
BEGIN SELECT RAISE(ABORT, 'audit seals are append-only'); END;
CREATE TRIGGER IF NOT EXISTS seals_no_delete BEFORE DELETE ON audit_seals
BEGIN SELECT RAISE(ABORT, 'audit seals are append-only'); END;
`;

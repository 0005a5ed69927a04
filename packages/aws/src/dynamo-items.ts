/**
 * How the Store and the AuditLog lay their data out in the single table (see table-schema.ts): the item of
 * an entity, an idempotency record, an audit record, the chain head and a seal, and back. Kept apart from
 * the code that talks to DynamoDB so the layout can be read (and tested) in one place; the audit archiver
 * reads stream images with `storedRecordOf`.
 */
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import {
  type AuditEvent,
  type EntityKind,
  type IdempotencyRecord,
  type Seal,
  type StoredAuditRecord,
  sha256Hex,
  type Write,
} from "@spe/core";
import { TTL_ATTRIBUTE } from "./table-schema";

export type Item = Record<string, AttributeValue>;

/** Every entity kind of core's EntityMap (a Record, so adding a kind there fails to compile here). */
const KINDS: Record<EntityKind, true> = {
  dataset: true,
  permit: true,
  workspace: true,
  job: true,
  egress: true,
  download: true,
  review_draft: true,
  console_revoked: true,
};
export const ENTITY_KINDS = Object.keys(KINDS) as EntityKind[];
export const isEntityKind = (k: unknown): k is EntityKind => typeof k === "string" && Object.hasOwn(KINDS, k);

export const ENTITY_SK = "entity";
export const AUDIT_PK = "audit";
export const HEAD_KEY = { pk: "audit#head", sk: "head" } as const;
export const SEAL_PK = "audit#seal";
const IDEM_PREFIX = "idem#";

/** Ids, actors and keys longer than this are refused on write (and cannot be found on read). */
export const MAX_KEY_BYTES = 512;
/** GSI partition values above this are replaced by a hash (DynamoDB allows 2048 bytes). */
const MAX_INDEX_VALUE_BYTES = 1024;

const utf8Bytes = (s: string): number => Buffer.byteLength(s, "utf8");

/** Whether a string can be part of a key: not empty, not too long. */
export const isKeyable = (s: unknown): s is string =>
  typeof s === "string" && s.length > 0 && utf8Bytes(s) <= MAX_KEY_BYTES;

/** Sequence numbers as sort keys: fixed width, so string order is numeric order. */
export const pad = (n: number): string => String(n).padStart(16, "0");

/**
 * A GSI partition value `<prefix>#<value>`. Over-long values are hashed (the query hashes the same way and
 * filters on the plain attribute, so a hash collision cannot return a wrong item).
 */
export const indexValue = (prefix: string, value: string): string => {
  const v = `${prefix}#${value}`;
  return utf8Bytes(v) <= MAX_INDEX_VALUE_BYTES ? v : `${prefix}#sha256:${sha256Hex(value)}`;
};

export const entityKey = (kind: EntityKind, id: string): Item => ({ pk: { S: `${kind}#${id}` }, sk: { S: ENTITY_SK } });
export const idempotencyKey = (actor: string, key: string): Item => ({
  pk: { S: IDEM_PREFIX + actor },
  sk: { S: key },
});
export const auditKey = (seq: number): Item => ({ pk: { S: AUDIT_PK }, sk: { S: pad(seq) } });
export const headKey = (): Item => ({ pk: { S: HEAD_KEY.pk }, sk: { S: HEAD_KEY.sk } });
export const sealKey = (n: number): Item => ({ pk: { S: SEAL_PK }, sk: { S: pad(n) } });

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

/**
 * The attributes the list filters read, derived exactly as SqliteStore derives its columns: owner is
 * `owner ?? requester`; permitId is not set on permits and datasets; workspaceId, status and researchers
 * come from the item whatever its kind. Only string values are kept (SQLite never matches others).
 */
export function listAttributes(kind: EntityKind, item: Record<string, unknown>) {
  const researchers = Array.isArray(item.researchers)
    ? item.researchers.filter((r): r is string => typeof r === "string")
    : undefined;
  return {
    owner: str(item.owner ?? item.requester),
    permitId: kind === "permit" || kind === "dataset" ? undefined : str(item.permitId),
    workspaceId: str(item.workspaceId),
    status: str(item.status),
    researchers,
  };
}

/** The item of an entity at `version`. */
export function entityItem(w: Write, version: number): Item {
  const item = w.item as unknown as Record<string, unknown>;
  const a = listAttributes(w.kind, item);
  const out: Item = {
    ...entityKey(w.kind, w.item.id),
    kind: { S: w.kind },
    id: { S: w.item.id },
    version: { N: String(version) },
    body: { S: JSON.stringify(w.item) },
  };
  if (a.owner !== undefined) {
    out.owner = { S: a.owner };
    out.ownerKey = { S: indexValue(w.kind, a.owner) };
  }
  if (a.permitId !== undefined) {
    out.permitId = { S: a.permitId };
    out.parent = { S: indexValue(w.kind, a.permitId) };
  }
  if (a.workspaceId !== undefined) {
    out.workspaceId = { S: a.workspaceId };
    out.workspaceKey = { S: indexValue(w.kind, a.workspaceId) };
  }
  if (a.status !== undefined) out.status = { S: a.status };
  if (a.researchers !== undefined) out.researchers = { L: a.researchers.map((r) => ({ S: r })) };
  return out;
}

export function versionedOf(item: Item): { version: number; item: unknown } {
  return { version: Number(item.version?.N), item: JSON.parse(item.body?.S ?? "null") };
}

/** The audit item of a sealed record, with the searchable fields taken from the event that was hashed. */
export function auditItem(event: AuditEvent, stored: StoredAuditRecord): Item {
  const out: Item = {
    ...auditKey(stored.seq),
    seq: { N: String(stored.seq) },
    hash: { S: stored.hash },
    body: { S: stored.body },
    id: { S: pad(stored.seq) },
    actor: { S: event.actor },
    action: { S: event.action },
    kind: { S: indexValue(AUDIT_PK, event.action) },
    ownerKey: { S: indexValue(AUDIT_PK, event.actor) },
  };
  const permitId = str(event.details.permitId);
  if (permitId !== undefined) {
    out.permitId = { S: permitId };
    out.parent = { S: indexValue(AUDIT_PK, permitId) };
  }
  const workspaceId = str(event.details.workspaceId);
  if (workspaceId !== undefined) {
    out.workspaceId = { S: workspaceId };
    out.workspaceKey = { S: indexValue(AUDIT_PK, workspaceId) };
  }
  return out;
}

/** A record exactly as stored (its canonical body and hash), from an audit item or a stream image of one. */
export function storedRecordOf(item: Item): StoredAuditRecord {
  const seq = Number(item.seq?.N);
  const hash = item.hash?.S;
  const body = item.body?.S;
  if (!Number.isSafeInteger(seq) || hash === undefined || body === undefined) {
    throw new Error("not an audit record item");
  }
  return { seq, hash, body };
}

export function headItem(seq: number, hash: string): Item {
  return { ...headKey(), seq: { N: String(seq) }, hash: { S: hash } };
}

export function idempotencyItem(r: IdempotencyRecord, ttlSeconds: number | undefined): Item {
  const out: Item = {
    ...idempotencyKey(r.actor, r.key),
    scope: { S: r.scope },
    requestHash: { S: r.requestHash },
    resourceId: { S: r.resourceId },
    createdAt: { S: r.createdAt },
  };
  const created = Date.parse(r.createdAt);
  if (ttlSeconds !== undefined && Number.isFinite(created)) {
    out[TTL_ATTRIBUTE] = { N: String(Math.floor(created / 1000) + ttlSeconds) };
  }
  return out;
}

export function idempotencyOf(actor: string, key: string, item: Item): IdempotencyRecord {
  const field = (name: string): string => {
    const v = item[name]?.S;
    if (v === undefined) throw new Error(`the idempotency item lacks ${name}`);
    return v;
  };
  return {
    actor,
    key,
    scope: field("scope"),
    requestHash: field("requestHash"),
    resourceId: field("resourceId"),
    createdAt: field("createdAt"),
  };
}

export function sealItem(seal: Seal): Item {
  return { ...sealKey(seal.n), n: { N: String(seal.n) }, body: { S: JSON.stringify(seal) } };
}

/**
 * An upper bound of an item's size as DynamoDB counts it (attribute names plus values, UTF-8), so an
 * over-large commit is refused before it is sent rather than failing as a ValidationException.
 */
export function itemSize(item: Item): number {
  let n = 0;
  for (const [name, value] of Object.entries(item)) n += utf8Bytes(name) + valueSize(value);
  return n;
}

function valueSize(v: AttributeValue): number {
  if (v.S !== undefined) return utf8Bytes(v.S);
  if (v.N !== undefined) return 21;
  if (v.L !== undefined) return 3 + v.L.reduce((n, x) => n + 1 + valueSize(x), 0);
  if (v.M !== undefined) return 3 + itemSize(v.M);
  if (v.SS !== undefined) return v.SS.reduce((n, x) => n + utf8Bytes(x), 0);
  return 1;
}

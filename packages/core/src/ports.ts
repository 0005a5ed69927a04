/**
 * The ports: everything core needs from the world. Adapters live in packages/local (one node) and
 * packages/aws. Use cases receive them as `Deps`; nothing in core reads the environment.
 */
import type { AuditEvent, AuditQuery, AuditRecord, StoredAuditRecord } from "./audit/record";
import type { Seal } from "./audit/seal";
import type { Dataset } from "./dataset/schema";
import type { PermitRecord } from "./permit/schema";
import type { Page } from "./schema-common";
import type { ManifestEntry, Workspace } from "./workspace/schema";

export interface EntityMap {
  dataset: Dataset;
  permit: PermitRecord;
  workspace: Workspace;
}
export type EntityKind = keyof EntityMap;

export interface Versioned<T> {
  item: T;
  /** Incremented by every write; conditional writes compare it. */
  version: number;
}

/** A conditional put: `expectedVersion` null means "must not exist yet". */
export type Write = {
  [K in EntityKind]: { kind: K; item: EntityMap[K]; expectedVersion: number | null };
}[EntityKind];

export interface IdempotencyRecord {
  actor: string;
  key: string;
  /** The operation the key was used for, e.g. `POST /v1/permits/P/workspaces`. */
  scope: string;
  /** SHA-256 of the canonical request: the same key with another request is refused. */
  requestHash: string;
  resourceId: string;
  createdAt: string;
}

/** One atomic unit: state writes, their audit records and, optionally, an idempotency record. */
export interface Commit {
  writes: Write[];
  audit: AuditEvent[];
  idempotency?: IdempotencyRecord;
}

export interface ListFilter {
  owner?: string;
  permitId?: string;
  status?: readonly string[];
  /** Permits naming this researcher. */
  researcher?: string;
}

export interface Store {
  get<K extends EntityKind>(kind: K, id: string): Promise<Versioned<EntityMap[K]> | null>;
  /** Ordered by id; `cursor` is opaque. */
  list<K extends EntityKind>(
    kind: K,
    filter: ListFilter,
    page: { limit: number; cursor?: string },
  ): Promise<Page<Versioned<EntityMap[K]>>>;
  /**
   * Applies every write and appends every audit event in one transaction: all or nothing.
   * @returns the sealed audit records.
   * @throws ConcurrentUpdateError when a write's expected version does not match (or the idempotency key exists).
   * @throws AuditUnavailableError when the audit append fails: nothing was written.
   */
  commit(commit: Commit): Promise<AuditRecord[]>;
  getIdempotency(actor: string, key: string): Promise<IdempotencyRecord | null>;
}

/** Reading side of the audit chain, and its seals. Appends go through `Store.commit`. */
export interface AuditLog {
  query(q: AuditQuery): Promise<Page<AuditRecord>>;
  /** Every stored record in seq order, exactly as stored. */
  scan(): Iterable<StoredAuditRecord> | AsyncIterable<StoredAuditRecord>;
  head(): Promise<{ count: number; hash: string }>;
  appendSeal(seal: Seal): Promise<void>;
  seals(): Promise<Seal[]>;
}

/** Signs audit digests: ECDSA P-256 / SHA-256, DER signatures, base64. */
export interface Signer {
  readonly keyId: string;
  sign(data: string): Promise<string>;
  verify(data: string, signature: string, keyId: string): Promise<boolean>;
}

export interface Clock {
  now(): Date;
}

export interface Ids {
  /** A new unique, roughly time-ordered id with the prefix, e.g. `ws-01j...`. */
  next(prefix: string): string;
}

/** Checks that a dataset source exists and can be read by this deployment. */
export interface DatasetSources {
  /** @returns null when readable, else a reason for the caller. */
  check(source: string): Promise<string | null>;
}

export interface WorkspaceSpec {
  workspaceId: string;
  permitId: string;
  owner: string;
  expiresAt: string;
  limits: { cpus: number; memoryMiB: number };
  datasets: { id: string; source: string; format: string; identifierColumns: string[] }[];
}

/**
 * Where workspaces run: directories (this release), bubblewrap sandboxes, ECS tasks.
 * Jobs (`runJob`, `jobStatus`), outputs and staging hang off this port in the isolation issue.
 */
export interface WorkspaceRuntime {
  /** Creates the workspace's areas and stages its data. Idempotent. @returns the staged files. */
  start(spec: WorkspaceSpec): Promise<ManifestEntry[]>;
  /** Stops everything running and removes the workspace's plaintext areas. Idempotent. */
  stop(workspaceId: string): Promise<void>;
  /** Whether the runtime holds anything of the workspace (for sweeps and tests). */
  exists(workspaceId: string): Promise<boolean>;
}

export interface Scheduler {
  /** Arranges for `onExpire(workspaceId)` to run at `at` (replacing an earlier schedule). */
  scheduleExpiry(workspaceId: string, at: Date): Promise<void>;
  cancel(workspaceId: string): Promise<void>;
}

/** Runs work after the request that asked for it (provisioning). */
export interface Dispatcher {
  dispatch(task: { type: "workspace.provision"; workspaceId: string }): void;
}

export interface Deps {
  store: Store;
  audit: AuditLog;
  clock: Clock;
  ids: Ids;
  sources: DatasetSources;
  runtime: WorkspaceRuntime;
  scheduler: Scheduler;
  dispatcher: Dispatcher;
}

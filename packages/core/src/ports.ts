/**
 * The ports: everything core needs from the world. Adapters live in packages/local (one node) and
 * packages/aws. Use cases receive them as `Deps`; nothing in core reads the environment.
 */
import type { AuditEvent, AuditQuery, AuditRecord, StoredAuditRecord } from "./audit/record";
import type { Seal } from "./audit/seal";
import type { Dataset } from "./dataset/schema";
import type { DownloadGrant } from "./egress/downloads";
import type { ReviewDraft } from "./egress/draft";
import type { EgressRequest } from "./egress/schema";
import type { Job } from "./job/schema";
import type { PermitRecord } from "./permit/schema";
import type { Page } from "./schema-common";
import type { Workspace } from "./workspace/schema";

export interface EntityMap {
  dataset: Dataset;
  permit: PermitRecord;
  workspace: Workspace;
  job: Job;
  egress: EgressRequest;
  download: DownloadGrant;
  /** A reviewer's unsubmitted per-file marks, decision and comment: id `<egressId>:<reviewer>`. */
  review_draft: ReviewDraft;
  console_revoked: RevokedConsoleSession;
}
export type EntityKind = keyof EntityMap;

/** A console session ended by sign-out: its cookie is refused from then on, even if copied before. */
export interface RevokedConsoleSession {
  /** The session id (random, from the signed cookie). */
  id: string;
  sub: string;
  revokedAt: string;
  /** When the cookie would have expired anyway (after that the record is of no use). */
  expiresAt: string;
}

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
  /** Jobs of this workspace. */
  workspaceId?: string;
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

/** Dataset sources of this deployment (`file://` on one node, `s3://` on AWS). */
export interface DatasetSources {
  /** @returns null when readable, else a reason for the caller. */
  check(source: string): Promise<string | null>;
  /** Every file of the source, with paths relative to it (`/`-separated), sorted. */
  files(source: string): Promise<{ path: string; bytes: number }[]>;
  /** Streams one file of the source. */
  read(source: string, path: string): AsyncIterable<Uint8Array>;
}

/** The keys of one permit, for one operation: never stored or logged in the clear. */
export interface PermitKeys {
  /** Encrypts everything of the permit at rest: staged data, outputs, job logs, egress snapshots. */
  dataKey: Uint8Array;
  /** Keys the HMAC that pseudonymises identifiers. */
  pseudonymKey: Uint8Array;
}

/**
 * Per-permit keys (one node: wrapped under a master key; AWS: KMS). Destroying them is crypto-shredding.
 */
export interface KeyService {
  /** Creates the permit's keys. Idempotent. */
  createPermitKey(permitId: string): Promise<void>;
  /** @throws DomainError `permit.key_destroyed` (409) once destroyed, `permit.key_missing` if never created. */
  permitKeys(permitId: string): Promise<PermitKeys>;
  /** Deletes the keys for good. @returns false if there was nothing left to destroy. */
  destroyPermitKey(permitId: string): Promise<boolean>;
}

/** Opaque objects (files on one node, S3 on AWS). Keys are `/`-separated paths. */
export interface ObjectStore {
  /** Writes `body` under `key`, atomically: after a failure nothing is left under `key`. */
  put(key: string, body: AsyncIterable<Uint8Array>): Promise<{ bytes: number }>;
  /** @throws NotFoundError when there is no such object. */
  get(key: string): AsyncIterable<Uint8Array>;
  list(prefix: string): Promise<{ key: string; bytes: number }[]>;
  /** Deletes every object under the prefix. @returns how many. */
  deletePrefix(prefix: string): Promise<number>;
}

export interface WorkspaceSpec {
  workspaceId: string;
  permitId: string;
  owner: string;
  expiresAt: string;
  limits: { cpus: number; memoryMiB: number };
}

/** A staged file, decrypted on demand by core for the runtime's read-only `data/` view. */
export interface StagedFile {
  /** Path under `data/`, e.g. `ds-oncology/patients.csv`. */
  path: string;
  open(): AsyncIterable<Uint8Array>;
}

export interface OutputFile {
  path: string;
  bytes: number;
  sha256: string;
}

export type JobOutcome = "succeeded" | "failed" | "timed_out" | "cancelled";

export interface JobSpec {
  workspaceId: string;
  jobId: string;
  command: string[];
  timeoutSeconds: number;
  memoryMiB: number;
}

export interface JobResult {
  outcome: JobOutcome;
  exitCode: number | null;
  /** Why, when it is not the exit code (e.g. `outputs quota exceeded`); no data values. */
  reason?: string;
  stdout: string;
  stderr: string;
  startedAt: string;
  finishedAt: string;
}

/**
 * Where workspaces run: bubblewrap sandboxes on one node, ECS tasks on AWS.
 * Jobs report their end through the callback the composition root gives the runtime.
 */
export interface WorkspaceRuntime {
  /** `bubblewrap`, or `none` for the unsandboxed development runtime. */
  readonly isolation: "bubblewrap" | "none" | "fargate";
  /** @throws DomainError `runtime.unavailable` (503) when workspaces cannot be run here, saying how to fix it. */
  assertAvailable(): void;
  /** Creates the workspace's areas and its read-only `data/` view from the staged files. Idempotent. */
  start(spec: WorkspaceSpec, data: StagedFile[]): Promise<void>;
  /** Kills every job of the workspace and waits until they are gone. Idempotent. */
  stopJobs(workspaceId: string): Promise<void>;
  /** Kills its jobs and wipes its plaintext areas. Idempotent. */
  stop(workspaceId: string): Promise<void>;
  /** Whether the runtime holds anything of the workspace (for sweeps and tests). */
  exists(workspaceId: string): Promise<boolean>;
  /** Starts a job; its end is reported to the runtime's `onJobFinished`. */
  startJob(spec: JobSpec): Promise<void>;
  /** Whether the job's process is still running. */
  jobRunning(workspaceId: string, jobId: string): boolean;
  /**
   * Writes a file under `home/`, atomically, never following a symlink out of `home/`.
   * @throws ValidationError `file.path_escape` when the path leads outside.
   */
  writeHome(workspaceId: string, path: string, bytes: Uint8Array): Promise<void>;
  /** Regular files under `dir` (symlinks are skipped, never followed), with sizes and hashes. */
  listFiles(workspaceId: string, dir: "outputs" | "home"): Promise<OutputFile[]>;
  /** What `outputs/<path>` is, without following a symlink; `bytes` for regular files. */
  statOutput(
    workspaceId: string,
    path: string,
  ): Promise<{ kind: "file" | "directory" | "symlink" | "other" | "missing"; bytes: number }>;
  /** Streams one regular file under `outputs/` (no symlinks followed). */
  readOutput(workspaceId: string, path: string): AsyncIterable<Uint8Array>;
  /**
   * Releases what the runtime keeps per permit (AWS: the permit's task role), once the permit's data is
   * destroyed and none of its workspaces is live. Idempotent. Absent when the runtime keeps nothing.
   */
  releasePermit?(permitId: string): Promise<void>;
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

/** Tunables the composition root sets (from the environment or its options). */
export interface Policy {
  /** Days after a permit's expiry before its key is destroyed. @default 30 (EHDS: delete within 6 months) */
  keyGraceDays: number;
  /** Combined size of a workspace's `outputs/`. @default 1 GiB */
  outputsQuotaBytes: number;
  /** Largest upload into `home/`. @default 1 MiB */
  maxUploadBytes: number;
  /** How long a download link works. @default 900 (15 minutes) */
  downloadTtlSeconds: number;
  /** How many times a download link works. @default 3 */
  downloadMaxUses: number;
}

export const DEFAULT_POLICY: Policy = {
  keyGraceDays: 30,
  outputsQuotaBytes: 1024 ** 3,
  maxUploadBytes: 1024 ** 2,
  downloadTtlSeconds: 900,
  downloadMaxUses: 3,
};

export interface Deps {
  store: Store;
  audit: AuditLog;
  clock: Clock;
  ids: Ids;
  sources: DatasetSources;
  runtime: WorkspaceRuntime;
  scheduler: Scheduler;
  dispatcher: Dispatcher;
  keys: KeyService;
  objects: ObjectStore;
  policy: Policy;
}

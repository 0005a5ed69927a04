/**
 * Builders for the Store contract suite: one entity of every kind, audit events, and a clock the tests move.
 * The entities are realistic (the shapes core writes), so adapters see what production sends them.
 */
import {
  type AuditEvent,
  type Clock,
  type Dataset,
  type DownloadGrant,
  type EgressRequest,
  type EntityKind,
  type EntityMap,
  type Job,
  PermitInput,
  type PermitRecord,
  type ReviewDraft,
  type Workspace,
  type Write,
} from "@spe/core";

export const T0 = Date.parse("2026-03-01T09:00:00.000Z");

export class TestClock implements Clock {
  constructor(public t = T0) {}
  now(): Date {
    return new Date(this.t);
  }
}

export const dataset = (id: string): Dataset => ({
  id,
  title: "Cancer registry 2024",
  holder: "IPO Porto",
  source: "s3://spe-holder-data/oncology/",
  format: "csv",
  identifierColumns: ["patient_id"],
  createdAt: "2026-01-01T00:00:00.000Z",
  createdBy: "ana",
});

export const permit = (id: string, researchers = ["alice", "carol"]): PermitRecord => ({
  ...PermitInput.parse({
    id,
    title: "Survival by stage",
    purpose: "scientific_research",
    dataUser: "Universidade do Porto",
    principalInvestigator: researchers[0],
    researchers,
    datasets: ["ds-oncology"],
    validFrom: "2026-01-01T00:00:00.000Z",
    validUntil: "2027-01-01T00:00:00.000Z",
  }),
  adminState: "normal",
  stateReason: null,
  createdAt: "2026-01-01T00:00:00.000Z",
  createdBy: "ana",
  updatedAt: "2026-01-01T00:00:00.000Z",
  expiryProcessedAt: null,
});

export const workspace = (id: string, o: Partial<Workspace> = {}): Workspace => ({
  id,
  permitId: "P-1",
  owner: "alice",
  status: "ready",
  createdAt: "2026-03-01T08:00:00.000Z",
  expiresAt: "2026-03-01T12:00:00.000Z",
  terminatedAt: null,
  terminationReason: null,
  manifest: [{ dataset: "ds-oncology", path: "ds-oncology/registry.csv", bytes: 1234, sha256: "a".repeat(64) }],
  isolation: "fargate",
  ...o,
});

export const job = (id: string, o: Partial<Job> = {}): Job => ({
  id,
  workspaceId: "ws-1",
  permitId: "P-1",
  owner: "alice",
  command: ["python3", "analysis.py", "--by", "stage"],
  timeoutSeconds: 600,
  status: "queued",
  exitCode: null,
  reason: null,
  createdAt: "2026-03-01T08:10:00.000Z",
  startedAt: null,
  finishedAt: null,
  ...o,
});

export const egress = (id: string, o: Partial<EgressRequest> = {}): EgressRequest => ({
  id,
  workspaceId: "ws-1",
  permitId: "P-1",
  requester: "alice",
  status: "pending_review",
  createdAt: "2026-03-01T08:30:00.000Z",
  justification: "Aggregated survival table for the paper",
  files: [{ path: "outputs/table.csv", bytes: 88, sha256: "b".repeat(64), verdict: "pass", findings: [] }],
  verdict: "pass",
  reviews: [],
  decidedAt: null,
  ...o,
});

export const download = (id: string, o: Partial<DownloadGrant> = {}): DownloadGrant => ({
  id,
  egressId: "eg-1",
  workspaceId: "ws-1",
  permitId: "P-1",
  requester: "alice",
  fileIndex: 0,
  path: "outputs/table.csv",
  bytes: 88,
  sha256: "b".repeat(64),
  tokenHash: "c".repeat(64),
  expiresAt: "2026-03-01T09:15:00.000Z",
  maxUses: 3,
  usesLeft: 3,
  createdAt: "2026-03-01T09:00:00.000Z",
  ...o,
});

export const reviewDraft = (id: string, o: Partial<ReviewDraft> = {}): ReviewDraft => ({
  id,
  egressId: "eg-1",
  permitId: "P-1",
  workspaceId: "ws-1",
  owner: "rui",
  files: [null],
  decision: null,
  comment: null,
  updatedAt: "2026-03-01T09:00:00.000Z",
  ...o,
});

/** One builder per kind: the contract checks every kind the Store holds. */
export const BUILDERS: { [K in EntityKind]: (id: string) => EntityMap[K] } = {
  dataset,
  permit: (id) => permit(id),
  workspace: (id) => workspace(id),
  job: (id) => job(id),
  egress: (id) => egress(id),
  download: (id) => download(id),
  review_draft: (id) => reviewDraft(id),
  console_revoked: (id) => ({
    id,
    sub: "rui",
    revokedAt: "2026-03-01T09:00:00.000Z",
    expiresAt: "2026-03-01T17:00:00.000Z",
  }),
};
export const KINDS = Object.keys(BUILDERS) as EntityKind[];

export const create = <K extends EntityKind>(kind: K, item: EntityMap[K]): Write =>
  ({ kind, item, expectedVersion: null }) as Write;
export const update = <K extends EntityKind>(kind: K, item: EntityMap[K], expectedVersion: number): Write =>
  ({ kind, item, expectedVersion }) as Write;

export const event = (o: Partial<AuditEvent> & { details?: AuditEvent["details"] } = {}): AuditEvent => ({
  actor: "alice",
  action: "workspace.launched",
  target: "workspace/ws-1",
  outcome: "allowed",
  details: { permitId: "P-1", workspaceId: "ws-1" },
  ...o,
});

/** A verifier that accepts every signature (the suite checks the chain, not the signer). */
export const anySignature = { verify: async () => true };

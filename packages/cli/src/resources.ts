/** The shapes of the API's responses, as the v1 contract fixes them (shared/docs/api.md). */

export interface Page<T> {
  items: T[];
  next: string | null;
}

export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  code?: string;
  errors?: { path: string; message: string }[];
}

export interface Dataset {
  id: string;
  title: string;
  holder: string;
  source: string;
  format: string;
  identifierColumns: string[];
  createdAt?: string;
  createdBy?: string;
}

export interface Permit {
  id: string;
  title: string;
  purpose: string;
  dataUser: string;
  principalInvestigator: string;
  researchers: string[];
  datasets: string[];
  validFrom: string;
  validUntil: string;
  limits: Record<string, number>;
  egress: Record<string, number | string>;
  status: string;
  stateReason?: string | null;
  createdAt?: string;
  createdBy?: string;
  updatedAt?: string;
}

export interface ManifestEntry {
  dataset: string;
  path: string;
  bytes: number;
  sha256: string;
}

export interface Workspace {
  id: string;
  permitId: string;
  owner: string;
  status: string;
  createdAt: string;
  expiresAt: string;
  terminatedAt: string | null;
  terminationReason: string | null;
  manifest?: ManifestEntry[];
  failureReason?: string;
}

export interface AuditRecord {
  seq: number;
  at: string;
  actor: string;
  action: string;
  target: string;
  outcome: string;
  details: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

export type Verification =
  | { ok: true; count: number; head?: string; sealed?: { count: number; at: string } | null }
  | { ok: false; count: number; brokenAt?: number; reason?: string };

/** Workspaces: isolated, time-limited analysis environments launched under a permit. */
import { z } from "zod";

export const WORKSPACE_STATUSES = ["provisioning", "ready", "stopping", "terminated", "failed"] as const;
export type WorkspaceStatus = (typeof WORKSPACE_STATUSES)[number];

export const TERMINATION_REASONS = [
  "user",
  "expired",
  "permit_revoked",
  "permit_expired",
  "permit_suspended",
  "admin",
  "error",
] as const;
export type TerminationReason = (typeof TERMINATION_REASONS)[number];

const Hours = z.number().positive().max(720);

export const LaunchInput = z.strictObject({ hours: Hours.default(4) });
export type LaunchInput = z.infer<typeof LaunchInput>;

export const ExtendInput = z.strictObject({ hours: Hours });
export type ExtendInput = z.infer<typeof ExtendInput>;

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
  status: WorkspaceStatus;
  createdAt: string;
  expiresAt: string;
  terminatedAt: string | null;
  terminationReason: TerminationReason | null;
  /** Present once the workspace is ready: the staged files. */
  manifest?: ManifestEntry[];
  /** How its jobs are isolated: `none` only under the development runtime (SPE_RUNTIME=unsafe-process). */
  isolation?: "bubblewrap" | "none" | "fargate";
  /** Why provisioning failed (no data values), when status is `failed`. */
  failureReason?: string;
  /** When provisioning was last dispatched again by the sweeper (internal: not shown by the API). */
  provisionRetriedAt?: string;
  /** Terminations that could not archive the outputs yet and kept them for a retry (internal). */
  outputsArchiveAttempts?: number;
}

export const LIVE_STATUSES: readonly WorkspaceStatus[] = ["provisioning", "ready", "stopping"];

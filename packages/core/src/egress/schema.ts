/** Egress requests: the only way out of a workspace. Snapshotted files, automated findings, reviews. */
import { z } from "zod";
import { Text } from "../schema-common";

export const EGRESS_STATUSES = [
  "pending_review",
  "approved",
  "rejected",
  "changes_requested",
  "withdrawn",
  "cancelled",
] as const;
export type EgressStatus = (typeof EGRESS_STATUSES)[number];

export const VERDICTS = ["pass", "review", "fail"] as const;
export type Verdict = (typeof VERDICTS)[number];

export const DECISIONS = ["approve", "reject", "request_changes"] as const;
export type Decision = (typeof DECISIONS)[number];

/** Files per request. */
export const MAX_EGRESS_FILES = 50;

export const EgressInput = z.strictObject({
  files: z.array(z.string().min(1).max(1024)).min(1).max(MAX_EGRESS_FILES),
  justification: Text(4000),
});
export type EgressInput = z.infer<typeof EgressInput>;

export const ReviewInput = z.strictObject({
  decision: z.enum(DECISIONS),
  comment: Text(4000).optional(),
});
export type ReviewInput = z.infer<typeof ReviewInput>;

export interface EgressFinding {
  rule: string;
  severity: "review" | "fail";
  location: string;
  message: string;
}

export interface EgressFile {
  /** `outputs/...` as requested. */
  path: string;
  bytes: number;
  /** Of the snapshot: what is reviewed and released is exactly these bytes. */
  sha256: string;
  verdict: Verdict;
  findings: EgressFinding[];
}

export interface Review {
  reviewer: string;
  decision: Decision;
  comment: string | null;
  /** An approval of a request whose verdict was `fail`. */
  override: boolean;
  at: string;
}

export interface EgressRequest {
  id: string;
  workspaceId: string;
  permitId: string;
  requester: string;
  status: EgressStatus;
  createdAt: string;
  justification: string;
  files: EgressFile[];
  verdict: Verdict;
  reviews: Review[];
  decidedAt: string | null;
}

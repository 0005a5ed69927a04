/** Data permits (EHDS Art. 68): who may process which datasets, for what purpose, until when, within what limits. */
import { z } from "zod";
import { ResourceId, Subject, Text, Timestamp } from "../schema-common";

/** EHDS Art. 53(1) purposes. */
export const PURPOSES = [
  "public_health",
  "policy_making",
  "statistics",
  "education",
  "scientific_research",
  "healthcare_improvement",
] as const;

export const PERMIT_STATUSES = ["pending", "active", "expired", "suspended", "revoked"] as const;
export type PermitStatus = (typeof PERMIT_STATUSES)[number];

export const Limits = z.strictObject({
  // At most 40: revoking or suspending a permit moves all its live workspaces to `stopping` in the same
  // transaction as the permit (2 items per workspace + 3), and DynamoDB allows 100 items per transaction.
  maxConcurrentWorkspaces: z.number().int().min(1).max(40).default(2),
  maxWorkspaceHours: z.number().positive().max(720).default(8),
  cpus: z.number().positive().max(64).default(1),
  memoryMiB: z.number().int().min(256).max(262144).default(2048),
});

export const EgressPolicy = z.strictObject({
  minCellCount: z.number().int().min(1).max(1000).default(10),
  reviewersRequired: z.number().int().min(1).max(5).default(1),
  maxFileBytes: z.number().int().min(1).max(1073741824).default(10485760),
  roundTo: z.number().int().min(1).max(1000).optional(),
  minDegreesOfFreedom: z.number().int().min(1).max(1000).default(10),
  zeros: z.enum(["review", "fail"]).default("review"),
});

export const PermitInput = z
  .strictObject({
    id: ResourceId,
    title: Text(300),
    purpose: z.enum(PURPOSES),
    dataUser: Text(300),
    principalInvestigator: Subject,
    researchers: z.array(Subject).min(1).max(200),
    datasets: z.array(ResourceId).min(1).max(50),
    validFrom: Timestamp,
    validUntil: Timestamp,
    limits: Limits.prefault({}),
    egress: EgressPolicy.prefault({}),
  })
  .superRefine((p, ctx) => {
    if (p.validUntil <= p.validFrom) {
      ctx.addIssue({ code: "custom", path: ["validUntil"], message: "validUntil must be after validFrom" });
    }
    if (!p.researchers.includes(p.principalInvestigator)) {
      ctx.addIssue({
        code: "custom",
        path: ["principalInvestigator"],
        message: "the principal investigator must be one of the researchers",
      });
    }
    if (new Set(p.researchers).size !== p.researchers.length) {
      ctx.addIssue({ code: "custom", path: ["researchers"], message: "researchers must not repeat" });
    }
    if (new Set(p.datasets).size !== p.datasets.length) {
      ctx.addIssue({ code: "custom", path: ["datasets"], message: "datasets must not repeat" });
    }
  });
export type PermitInput = z.infer<typeof PermitInput>;

/** What an admin did to the permit; the visible status is derived from this and the clock. */
export const ADMIN_STATES = ["normal", "suspended", "revoked"] as const;
export type AdminState = (typeof ADMIN_STATES)[number];

export interface PermitRecord extends PermitInput {
  adminState: AdminState;
  /** Reason given with the last suspend or revoke. */
  stateReason: string | null;
  createdAt: string;
  createdBy: string;
  updatedAt: string;
  /** When the controller processed the end of validity (cascade done); null until then. */
  expiryProcessedAt: string | null;
  /** When the permit's keys were destroyed (crypto-shredding of all its data); absent until then. */
  keyDestroyedAt?: string | null;
}

export const ReasonInput = z.strictObject({ reason: Text(1000) });
export const OptionalReasonInput = z.strictObject({ reason: Text(1000).optional() });

/** The permit as the API shows it. */
export type Permit = Omit<PermitRecord, "adminState" | "expiryProcessedAt"> & { status: PermitStatus };

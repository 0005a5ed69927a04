/**
 * Response shapes for the OpenAPI document. Request shapes are core's schemas, used as they are.
 */
import { z } from "@hono/zod-openapi";
import {
  DATASET_FORMATS,
  DECISIONS,
  EGRESS_STATUSES,
  JOB_STATUSES,
  OUTCOMES,
  PERMIT_STATUSES,
  PURPOSES,
  TERMINATION_REASONS,
  VERDICTS,
  WORKSPACE_STATUSES,
} from "@spe/core";

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi("Problem");

export const DatasetSchema = z
  .object({
    id: z.string(),
    title: z.string(),
    holder: z.string(),
    source: z.string(),
    format: z.enum(DATASET_FORMATS),
    identifierColumns: z.array(z.string()),
    createdAt: z.string(),
    createdBy: z.string(),
  })
  .openapi("Dataset");

export const PermitSchema = z
  .object({
    id: z.string(),
    title: z.string(),
    purpose: z.enum(PURPOSES),
    dataUser: z.string(),
    principalInvestigator: z.string(),
    researchers: z.array(z.string()),
    datasets: z.array(z.string()),
    validFrom: z.string(),
    validUntil: z.string(),
    limits: z.object({
      maxConcurrentWorkspaces: z.number(),
      maxWorkspaceHours: z.number(),
      cpus: z.number(),
      memoryMiB: z.number(),
    }),
    egress: z.object({
      minCellCount: z.number(),
      reviewersRequired: z.number(),
      maxFileBytes: z.number(),
      roundTo: z.number().optional(),
      minDegreesOfFreedom: z.number(),
      zeros: z.enum(["review", "fail"]),
    }),
    status: z.enum(PERMIT_STATUSES),
    stateReason: z.string().nullable(),
    createdAt: z.string(),
    createdBy: z.string(),
    updatedAt: z.string(),
    keyDestroyedAt: z.string().nullable().optional(),
  })
  .openapi("Permit");

export const WorkspaceSchema = z
  .object({
    id: z.string(),
    permitId: z.string(),
    owner: z.string(),
    status: z.enum(WORKSPACE_STATUSES),
    createdAt: z.string(),
    expiresAt: z.string(),
    terminatedAt: z.string().nullable(),
    terminationReason: z.enum(TERMINATION_REASONS).nullable(),
    manifest: z
      .array(z.object({ dataset: z.string(), path: z.string(), bytes: z.number(), sha256: z.string() }))
      .optional(),
    failureReason: z.string().optional(),
    isolation: z.enum(["bubblewrap", "none", "fargate"]).optional(),
  })
  .openapi("Workspace");

const FindingSchema = z.object({
  rule: z.string(),
  severity: z.enum(["review", "fail"]),
  location: z.string(),
  message: z.string(),
});

export const EgressSchema = z
  .object({
    id: z.string(),
    workspaceId: z.string(),
    permitId: z.string(),
    requester: z.string(),
    status: z.enum(EGRESS_STATUSES),
    createdAt: z.string(),
    justification: z.string(),
    files: z.array(
      z.object({
        path: z.string(),
        bytes: z.number().int(),
        sha256: z.string(),
        verdict: z.enum(VERDICTS),
        findings: z.array(FindingSchema),
      }),
    ),
    verdict: z.enum(VERDICTS),
    reviews: z.array(
      z.object({
        reviewer: z.string(),
        decision: z.enum(DECISIONS),
        comment: z.string().nullable(),
        override: z.boolean(),
        at: z.string(),
      }),
    ),
    decidedAt: z.string().nullable(),
    /** Present while other reviewers' votes are hidden (reviewersRequired > 1, still pending). */
    blind: z.object({ reviewersRequired: z.number().int() }).optional(),
  })
  .openapi("EgressRequest");

export const FileSchema = z
  .object({ path: z.string(), bytes: z.number().int(), sha256: z.string() })
  .openapi("WorkspaceFile");

export const JobSchema = z
  .object({
    id: z.string(),
    workspaceId: z.string(),
    permitId: z.string(),
    owner: z.string(),
    command: z.array(z.string()),
    timeoutSeconds: z.number().int(),
    status: z.enum(JOB_STATUSES),
    exitCode: z.number().int().nullable(),
    reason: z.string().nullable(),
    stdout: z.string(),
    stderr: z.string(),
    createdAt: z.string(),
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
  })
  .openapi("Job");

export const AuditRecordSchema = z
  .object({
    seq: z.number().int(),
    at: z.string(),
    actor: z.string(),
    action: z.string(),
    target: z.string(),
    outcome: z.enum(OUTCOMES),
    details: z.record(z.string(), z.unknown()),
    prevHash: z.string(),
    hash: z.string(),
  })
  .openapi("AuditRecord");

export const VerifySchema = z
  .object({
    ok: z.boolean(),
    count: z.number().int(),
    head: z.string().optional(),
    sealed: z.object({ count: z.number().int(), at: z.string() }).nullable().optional(),
    brokenAt: z.number().int().optional(),
    reason: z.string().optional(),
  })
  .openapi("AuditVerification");

export const listOf = <T extends z.ZodTypeAny>(item: T, name: string) =>
  z.object({ items: z.array(item), next: z.string().nullable() }).openapi(name);

export const IdParam = (name: string) =>
  z.object({
    [name]: z
      .string()
      .min(1)
      .max(128)
      .openapi({ param: { name, in: "path" } }),
  });

export const IdempotencyHeader = z.object({
  "idempotency-key": z
    .string()
    .min(1)
    .max(255)
    .regex(/^[\x21-\x7e]+$/, "printable ASCII without spaces")
    .optional()
    .openapi({ description: "Replays the first result for the same key from the same caller" }),
});

const problemContent = { "application/problem+json": { schema: ProblemSchema } };
export const errors = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((s) => [s, { description: `problem (${s})`, content: problemContent }]));
export const json = <T extends z.ZodTypeAny>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema } },
});
export const body = <T extends z.ZodTypeAny>(schema: T) => ({
  body: { content: { "application/json": { schema } }, required: true },
});

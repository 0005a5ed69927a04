/** Jobs: one command run in a workspace's sandbox. */
import { z } from "zod";

export const JOB_STATUSES = ["queued", "running", "succeeded", "failed", "timed_out", "cancelled"] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const OPEN_JOB_STATUSES: readonly JobStatus[] = ["queued", "running"];

/** Jobs running at once in one workspace; the rest wait, in submission order. */
export const MAX_RUNNING_JOBS = 2;
export const DEFAULT_JOB_TIMEOUT_SECONDS = 600;

const Arg = z
  .string()
  .max(4096)
  .regex(/^[^\u0000]*$/, "no NUL bytes");

export const JobInput = z.strictObject({
  command: z
    .array(Arg)
    .min(1)
    .max(256)
    .refine((c) => (c[0] ?? "").length > 0, "the program (first element) must not be empty"),
  timeoutSeconds: z
    .number()
    .int()
    .positive()
    .max(30 * 24 * 3600)
    .optional(),
});
export type JobInput = z.infer<typeof JobInput>;

export interface Job {
  id: string;
  workspaceId: string;
  permitId: string;
  owner: string;
  command: string[];
  timeoutSeconds: number;
  status: JobStatus;
  exitCode: number | null;
  /** Why it ended that way when the exit code does not tell (timeout, quota, restart); no data values. */
  reason: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

/** What the API returns: the record plus the (decrypted) tails of its output. */
export interface JobView extends Job {
  stdout: string;
  stderr: string;
}

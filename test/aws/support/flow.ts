/**
 * The steps of the use cases over the composed AWS adapters, as each entrypoint runs them: the admin's
 * dataset and permit, the researcher's launch (the API) and its provisioning (the provision function, for
 * each invoke Lambda queued), a job (the API) and its task (tasks.ts), egress, termination, the sweeper.
 * Small builders, so the flow test and the fault tables arrange the same world.
 */

import { AWS_SWEEP } from "@spe/aws";
import {
  Dataset,
  DatasetInput,
  Egress,
  EgressInput,
  Job,
  JobInput,
  LaunchInput,
  Permit,
  PermitInput,
  ReviewInput,
  sweep,
  Workspace,
} from "@spe/core";
import { z } from "zod";
import { ACTORS, type AwsWorld, BUCKETS, DAY } from "./world";

export const PERMIT = "HDAB-PT-2026-0042";
export const DATASET = "ds-oncology";
/** The data holder's files (the `s3://` source), with a direct identifier to pseudonymise. */
export const HOLDER_FILES: Record<string, string> = {
  "oncology/2024/patients.csv": "patient_id,stage,age\nP-1001,II,54\nP-1002,III,61\nP-1003,II,47\n",
  "oncology/2024/visits/q1.csv": "patient_id,visit,ecog\nP-1001,2024-01-09,1\nP-1003,2024-02-14,0\n",
};

export function seedHolder(w: AwsWorld): void {
  for (const [key, body] of Object.entries(HOLDER_FILES)) w.s3.seed(BUCKETS.holder, key, body);
}

/** The permit of the flows, naming alice on the `s3://` dataset, valid from yesterday for 30 days. */
export const permitBody = (w: AwsWorld) => ({
  id: PERMIT,
  title: "Survival by stage",
  purpose: "scientific_research",
  dataUser: "Universidade do Porto",
  principalInvestigator: "alice",
  researchers: ["alice"],
  datasets: [DATASET],
  validFrom: new Date(w.clock.t - DAY).toISOString(),
  validUntil: new Date(w.clock.t + 30 * DAY).toISOString(),
  egress: { minCellCount: 1, minDegreesOfFreedom: 1 },
});

/** The admin registers the `s3://` dataset and a permit naming alice (a KMS key and alias are created). */
export async function registerDatasetAndPermit(w: AwsWorld, over: Partial<PermitInput> = {}) {
  seedHolder(w);
  await Dataset.create(
    w.deps,
    ACTORS.admin,
    DatasetInput.parse({
      id: DATASET,
      title: "Oncology registry 2024",
      holder: "Registo Oncológico",
      source: `s3://${BUCKETS.holder}/oncology/2024`,
      format: "csv",
      identifierColumns: ["patient_id"],
    }),
  );
  return Permit.create(w.deps, ACTORS.admin, PermitInput.parse({ ...permitBody(w), ...over }));
}

/** The API's launch (an Idempotency-Key, as clients send). */
export async function launch(w: AwsWorld, key = "launch-1") {
  const input = LaunchInput.parse({ hours: 2 });
  const idem = { key, scope: `POST /v1/permits/${PERMIT}/workspaces`, request: input };
  const { workspace } = await Workspace.launch(w.deps, ACTORS.alice, PERMIT, input, idem);
  await w.a.dispatcher.idle(); // as functions/api.ts does before returning
  return workspace;
}

const ProvisionTask = z.strictObject({
  type: z.literal("workspace.provision"),
  workspaceId: z.string().min(1).max(128),
});

/**
 * Lambda delivers every queued invoke to the provision function (functions/provision.ts), once each. An
 * invocation whose handler throws is queued again, as Lambda retries asynchronous invocations (twice).
 */
export async function runProvisioner(w: AwsWorld): Promise<{ workspaceId: string; error?: unknown }[]> {
  const out: { workspaceId: string; error?: unknown }[] = [];
  for (const inv of w.lambda.take()) {
    const task = ProvisionTask.parse(inv.payload);
    try {
      await Workspace.provision(w.deps, task.workspaceId);
      out.push({ workspaceId: task.workspaceId });
    } catch (error) {
      out.push({ workspaceId: task.workspaceId, error });
      const attempt = inv.attempt ?? 1;
      if (attempt < 3) w.lambda.queued.push({ ...inv, attempt: attempt + 1 });
    }
  }
  return out;
}

/** Launch and provision: a ready workspace. */
export async function readyWorkspace(w: AwsWorld): Promise<Workspace> {
  const ws = await launch(w);
  const ran = await runProvisioner(w);
  for (const r of ran) if (r.error) throw r.error;
  const v = await w.a.store.get("workspace", ws.id);
  if (v?.item.status !== "ready") {
    throw new Error(`workspace ${ws.id} is ${v?.item.status} (${v?.item.failureReason ?? ""}), not ready`);
  }
  return v.item;
}

/** A job that writes a small table to outputs/ (aggregates only) and reports on stdout. */
export const TABLE_JOB = [
  "sh",
  "-c",
  [
    "set -e",
    "test -f data/ds-oncology/patients.csv",
    "n=$(tail -n +2 data/ds-oncology/patients.csv | wc -l)",
    'echo "rows: $n"',
    "printf 'stage,patients\\nII,12\\nIII,15\\n' > outputs/by-stage.csv",
  ].join("\n"),
];

export function submitJob(w: AwsWorld, workspaceId: string, command: string[] = TABLE_JOB) {
  return Job.submit(w.deps, ACTORS.alice, workspaceId, JobInput.parse({ command, timeoutSeconds: 600 }));
}

export function requestEgress(w: AwsWorld, workspaceId: string, files = ["outputs/by-stage.csv"]) {
  return Egress.request(
    w.deps,
    ACTORS.alice,
    workspaceId,
    EgressInput.parse({ files, justification: "Aggregate counts by stage for the paper's table 2" }),
  );
}

export function approve(w: AwsWorld, egressId: string) {
  return Egress.review(w.deps, ACTORS.reviewer, egressId, ReviewInput.parse({ decision: "approve" }));
}

export const terminate = (w: AwsWorld, workspaceId: string) => Workspace.terminate(w.deps, ACTORS.alice, workspaceId);

/** The sweeper function (functions/sweep.ts). */
export const runSweeper = (w: AwsWorld) => sweep(w.deps, AWS_SWEEP);

/**
 * What must never be left behind, checked against everything the fakes hold and the table says: no ECS
 * task without a live workspace (or without a running job), no KMS grant for a workspace that is not
 * running, no schedule for an ended workspace, no workspace area or staged data of an ended workspace, no
 * object of a workspace the table does not know, no unfinished multipart upload, no egress snapshot or
 * release without its request (or with files missing), no job `running` without its task, no permit data
 * left after crypto-shredding. `settled`: nothing is in flight (no workspace may be halfway `stopping`).
 */
import {
  type EgressRequest,
  type EntityKind,
  type EntityMap,
  type Job,
  listAll,
  MAX_RUNNING_JOBS,
  OPEN_JOB_STATUSES,
  type PermitRecord,
  type Workspace,
} from "@spe/core";
import { type AwsWorld, BUCKETS } from "./world";

export interface State {
  workspaces: Map<string, Workspace>;
  jobs: Job[];
  egress: Map<string, EgressRequest>;
  permits: PermitRecord[];
}

async function all<K extends EntityKind>(w: AwsWorld, kind: K): Promise<EntityMap[K][]> {
  const found = await listAll((page) => w.a.store.list(kind, {}, page));
  return found.map((v) => v.item);
}

export async function stateOf(w: AwsWorld): Promise<State> {
  return {
    workspaces: new Map((await all(w, "workspace")).map((ws) => [ws.id, ws])),
    jobs: await all(w, "job"),
    egress: new Map((await all(w, "egress")).map((e) => [e.id, e])),
    permits: await all(w, "permit"),
  };
}

const WS_KEY = /^permits\/([^/]+)\/workspaces\/(ws-[0-9a-z]+)\/(.*)$/;
const EGRESS_KEY = /^permits\/([^/]+)\/egress\/([^/]+)\/(snapshot|release)\/(\d+)$/;

/** Everything wrong with the deployment's state, in words; [] when nothing is left behind. */
export async function problems(w: AwsWorld, o: { settled: boolean }): Promise<string[]> {
  const s = await stateOf(w);
  const out: string[] = [];
  const status = (id: string) => s.workspaces.get(id)?.status ?? "unknown";
  const running = (id: string) => status(id) === "ready" || (!o.settled && status(id) === "stopping");
  const live = (id: string) =>
    ["provisioning", "ready"].includes(status(id)) || (!o.settled && status(id) === "stopping");

  for (const t of w.ecs.tasks.values()) {
    if (t.desiredStatus !== "RUNNING") continue;
    const ws = t.startedBy ?? "";
    const jobId = t.tags.find((tag) => tag.key === "spe:job")?.value ?? "";
    if (!running(ws)) out.push(`ECS task of ${jobId} runs for workspace ${ws}, which is ${status(ws)}`);
    const job = s.jobs.find((j) => j.id === jobId);
    if (job?.status !== "running") out.push(`ECS task runs for job ${jobId}, which is ${job?.status ?? "unknown"}`);
  }
  for (const job of s.jobs) {
    if (job.status === "running" && o.settled) {
      const task = [...w.ecs.tasks.values()].find((t) => t.tags.some((x) => x.key === "spe:job" && x.value === job.id));
      if (!task) out.push(`job ${job.id} is running without an ECS task: no event will ever end it`);
    }
    const runs = s.jobs.filter((j) => j.workspaceId === job.workspaceId && j.status === "running").length;
    if (job.status === "queued" && o.settled && runs < MAX_RUNNING_JOBS) {
      out.push(`job ${job.id} is queued with ${runs} running: nothing will start it`);
    }
    if (OPEN_JOB_STATUSES.includes(job.status) && !running(job.workspaceId)) {
      out.push(`job ${job.id} is ${job.status} in workspace ${job.workspaceId}, which is ${status(job.workspaceId)}`);
    }
  }
  for (const key of w.kms.keys()) {
    for (const g of key.grants) {
      const ws = g.name?.replace(/^ws-/, "") ?? "";
      // Provisioning (not settled): start() may be halfway, or a Lambda retry is due to finish it.
      const ok = running(ws) || (!o.settled && status(ws) === "provisioning");
      if (!ok) out.push(`KMS grant ${g.name} on ${key.arn} for workspace ${ws}, which is ${status(ws)}`);
    }
  }
  for (const name of w.scheduler.names()) {
    const ws = name.replace(/^test-/, "");
    if (!live(ws)) out.push(`schedule ${name} for workspace ${ws}, which is ${status(ws)}`);
  }
  for (const [id, ws] of s.workspaces) {
    if (ws.status === "stopping" && o.settled) out.push(`workspace ${id} is still stopping`);
    if (
      ws.status === "provisioning" &&
      o.settled &&
      !w.lambda.queued.some((q) => JSON.stringify(q.payload).includes(id))
    ) {
      out.push(`workspace ${id} is provisioning but no provision of it is queued: it stays so until it expires`);
    }
  }
  for (const bucket of Object.values(BUCKETS)) {
    for (const u of w.s3.uploads(bucket)) out.push(`unfinished multipart upload of ${bucket}/${u.key}`);
    for (const v of w.s3.versions(bucket)) {
      const m = WS_KEY.exec(v.key);
      if (m) {
        const [, , ws, rest] = m as unknown as [string, string, string, string];
        const st = status(ws);
        // Kept until the permit's data is shredded: archived outputs, job logs, the identifier set (keyed
        // hashes, for the egress checks of those outputs).
        const kept = rest.startsWith("outputs/") || rest.startsWith("jobs/") || rest === "identifiers";
        // A failed provision keeps nothing; an ended workspace keeps only its archived outputs and job logs.
        const ended = st === "terminated" || (o.settled && st === "stopping");
        const orphan =
          st === "unknown" ||
          st === "failed" ||
          (ended && (bucket === BUCKETS.workspaces || (bucket === BUCKETS.staging && !kept)));
        if (orphan)
          out.push(`${bucket}/${v.key} (${v.body ? "version" : "delete marker"}) of workspace ${ws}, which is ${st}`);
        continue;
      }
      const e = EGRESS_KEY.exec(v.key);
      if (e) {
        const [, , id, area, index] = e as unknown as [string, string, string, string, string];
        const r = s.egress.get(id);
        if (!r) out.push(`${bucket}/${v.key}: ${area} of egress request ${id}, which does not exist`);
        else if (Number(index) >= r.files.length) out.push(`${bucket}/${v.key}: ${area} beyond the request's files`);
        else if (area === "release" && r.status !== "approved")
          out.push(`${bucket}/${v.key}: release of a ${r.status} request`);
      }
    }
  }
  for (const r of s.egress.values()) {
    const permit = s.permits.find((p) => p.id === r.permitId);
    if (permit?.keyDestroyedAt) continue;
    for (const [i] of r.files.entries()) {
      const key = `permits/${r.permitId}/egress/${r.id}/snapshot/${i}`;
      if (w.s3.objects(BUCKETS.quarantine, key).length === 0)
        out.push(`egress request ${r.id} lacks its snapshot ${i}`);
    }
  }
  for (const p of s.permits.filter((x) => x.keyDestroyedAt)) {
    for (const bucket of [BUCKETS.staging, BUCKETS.outputs, BUCKETS.quarantine, BUCKETS.releases, BUCKETS.workspaces]) {
      const left = w.s3.versions(bucket, `permits/${p.id}/`);
      if (left.length > 0) out.push(`${left.length} version(s) of shredded permit ${p.id} left in ${bucket}`);
    }
  }
  return out;
}

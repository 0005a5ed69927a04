/**
 * Fault injection, egress: the researcher asks for an output to leave (snapshot into the quarantine
 * bucket under the permit key, automated checks), a reviewer approves (the release copy), the researcher
 * gets a link, and the link redirects to a presigned GET of a one-time copy under the permit key (the API
 * Lambda with `offloadDownload`, as functions/api.ts builds it). Every AWS call fails in turn, throttled or
 * refused; afterwards no half-written snapshot or release exists, and asking again completes the release.
 */
import { DomainError, Egress } from "@spe/core";
import { afterAll, expect } from "vitest";
import { LocalDynamo } from "../../packages/aws/src/dynalite-harness";
import { describeFaults, recordStep, type Step } from "./support/fault-table";
import { approve, PERMIT, readyWorkspace, registerDatasetAndPermit, requestEgress, submitJob } from "./support/flow";
import { stateOf } from "./support/invariants";
import { runAllTasks } from "./support/tasks";
import { ACTORS, type AwsWorld, BUCKETS } from "./support/world";

interface Ctx {
  workspaceId: string;
}

const OUTPUT = "stage,patients\nII,12\nIII,15\n";

const requestsOf = async (w: AwsWorld, workspaceId: string) =>
  [...(await stateOf(w)).egress.values()].filter((r) => r.workspaceId === workspaceId);

/** Makes a link and follows it through the API: a 302 to the presigned GET, or an error. */
async function download(w: AwsWorld, egressId: string): Promise<string> {
  const { files } = await Egress.downloads(w.deps, ACTORS.alice, egressId);
  const res = await w.app().request(files[0]?.url ?? "/");
  if (res.status !== 302) {
    const problem = (await res.json()) as { code: string; detail: string };
    throw new DomainError("unavailable", problem.code, `the download link answered ${res.status}: ${problem.detail}`);
  }
  return res.headers.get("location") ?? "";
}

const step: Step<Ctx> = {
  async arrange(w) {
    await registerDatasetAndPermit(w);
    const workspaceId = (await readyWorkspace(w)).id;
    await submitJob(w, workspaceId);
    await runAllTasks(w);
    return { workspaceId };
  },
  async act(w, { workspaceId }) {
    const r = await requestEgress(w, workspaceId);
    await approve(w, r.id);
    await download(w, r.id);
  },
  async recover(w, { workspaceId }) {
    // The researcher asks again, the reviewer decides again, the researcher downloads again: whichever
    // did not happen.
    let r = (await requestsOf(w, workspaceId))[0];
    if (!r) r = await requestEgress(w, workspaceId);
    if (r.status === "pending_review") await approve(w, r.id);
    await download(w, r.id);
  },
  async done(w, { workspaceId }) {
    const requests = await requestsOf(w, workspaceId);
    expect(requests.map((r) => [r.status, r.files.map((f) => f.path)])).toEqual([
      ["approved", ["outputs/by-stage.csv"]],
    ]);
    const r = requests[0] as (typeof requests)[number];
    const base = `permits/${PERMIT}/egress/${r.id}/`;
    expect(w.s3.objects(BUCKETS.quarantine, base).map((o) => o.key)).toEqual([`${base}snapshot/0`]);
    expect(w.s3.objects(BUCKETS.releases, base).map((o) => o.key)).toEqual([`${base}release/0`]);
    // Snapshot and release are encrypted by core (and under the permit key by S3): never the plaintext.
    expect(Buffer.from(w.s3.body(BUCKETS.quarantine, `${base}snapshot/0`) ?? []).toString()).not.toContain("III,15");
    // The one-time copies behind the presigned GETs hold the released bytes, SSE-KMS under the permit key.
    const copies = w.s3.objects(BUCKETS.releases, "downloads/");
    expect(copies.length).toBeGreaterThan(0);
    for (const c of copies) {
      expect(c.encryption.SSEKMSKeyId).toBe(w.kms.describe(w.a.keys.permitKeyAliasArn(PERMIT))?.arn);
      expect(Buffer.from(await w.s3.fetch(BUCKETS.releases, c.key)).toString()).toBe(OUTPUT);
    }
  },
};

const dynamo = await LocalDynamo.start();
afterAll(() => dynamo.close());
const table = await recordStep(dynamo, step);

describeFaults("egress", dynamo, table);

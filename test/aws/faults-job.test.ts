/**
 * Fault injection, job start: the researcher submits a job to a ready workspace (API Lambda: the job
 * record, the `home/` digest, the job's spec object, RunTask). Every AWS call fails in turn, throttled or
 * refused; afterwards every job either runs in its own ECS task (and, run, succeeds) or failed with a
 * reason and has no task.
 */
import { afterAll, expect } from "vitest";
import { jobSpecKey } from "../../packages/aws/src/agent/protocol";
import { LocalDynamo } from "../../packages/aws/src/dynalite-harness";
import { describeFaults, recordStep, type Step } from "./support/fault-table";
import { PERMIT, readyWorkspace, registerDatasetAndPermit, submitJob } from "./support/flow";
import { stateOf } from "./support/invariants";
import { jobOfTask, runAllTasks, runningTasks } from "./support/tasks";
import { type AwsWorld, BUCKETS } from "./support/world";

interface Ctx {
  workspaceId: string;
}

const jobsOf = async (w: AwsWorld, workspaceId: string) =>
  (await stateOf(w)).jobs.filter((j) => j.workspaceId === workspaceId);

const step: Step<Ctx> = {
  async arrange(w) {
    await registerDatasetAndPermit(w);
    return { workspaceId: (await readyWorkspace(w)).id };
  },
  async act(w, { workspaceId }) {
    await submitJob(w, workspaceId);
  },
  async recover(w, { workspaceId }) {
    // The researcher submits again when the job did not start.
    if (!(await jobsOf(w, workspaceId)).some((j) => j.status === "running")) await submitJob(w, workspaceId);
  },
  async done(w, { workspaceId }) {
    const jobs = await jobsOf(w, workspaceId);
    const running = jobs.filter((j) => j.status === "running");
    expect(running.length, JSON.stringify(jobs.map((j) => [j.status, j.reason]))).toBeGreaterThan(0);
    for (const j of jobs.filter((x) => x.status !== "running")) {
      expect([j.status, j.reason]).toEqual(["failed", expect.stringMatching(/\w/)]);
    }
    const prefix = `permits/${PERMIT}/workspaces/${workspaceId}/`;
    expect(runningTasks(w).map(jobOfTask).sort()).toEqual(running.map((j) => j.id).sort());
    for (const j of running) expect(w.s3.objects(BUCKETS.workspaces, jobSpecKey(prefix, j.id))).toHaveLength(1);
    // The task runs the job: it ends as the agent reports it, with its output kept under the permit key.
    await runAllTasks(w);
    for (const j of running) {
      const v = await w.a.store.get("job", j.id);
      expect(v?.item).toMatchObject({ status: "succeeded", exitCode: 0 });
    }
    expect(runningTasks(w)).toEqual([]);
  },
  async effective(w, { workspaceId }) {
    const jobs = await jobsOf(w, workspaceId);
    const started = new Set(runningTasks(w).map(jobOfTask));
    return jobs.length > 0 && jobs.every((j) => (j.status === "running" && started.has(j.id)) || j.status === "failed");
  },
  async failure(w, { workspaceId }) {
    return (await jobsOf(w, workspaceId)).find((j) => j.status === "failed")?.reason ?? null;
  },
};

const dynamo = await LocalDynamo.start();
afterAll(() => dynamo.close());
const table = await recordStep(dynamo, step);

describeFaults("job start", dynamo, table);

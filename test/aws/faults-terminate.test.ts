/**
 * Fault injection, terminate: the researcher ends a workspace with one job done (its outputs in the area)
 * and one still running in its ECS task. Termination stops the task, cancels the job, archives outputs/
 * under the permit key, retires the KMS grant, purges the area (every version) and the staged data, and
 * deletes the expiry schedule. Every AWS call fails in turn, throttled or refused; afterwards the same
 * request again, or the sweeper, finishes it.
 */
import { afterAll, expect } from "vitest";
import { LocalDynamo } from "../../packages/aws/src/dynalite-harness";
import { auditRecords, describeFaults, recordStep, type Step } from "./support/fault-table";
import { PERMIT, readyWorkspace, registerDatasetAndPermit, runSweeper, submitJob, terminate } from "./support/flow";
import { deliverStopped, runAllTasks, runningTasks } from "./support/tasks";
import { BUCKETS } from "./support/world";

interface Ctx {
  workspaceId: string;
  done: string;
  running: string;
}

const step: Step<Ctx> = {
  async arrange(w) {
    await registerDatasetAndPermit(w);
    const workspaceId = (await readyWorkspace(w)).id;
    const done = (await submitJob(w, workspaceId)).id;
    await runAllTasks(w);
    const running = (await submitJob(w, workspaceId, ["sleep", "3600"])).id;
    return { workspaceId, done, running };
  },
  async act(w, { workspaceId }) {
    await terminate(w, workspaceId);
  },
  async recover(w, { workspaceId }) {
    // EventBridge delivers the STOPPED events of tasks the controller stopped; the researcher asks again
    // if the workspace did not even start stopping; the sweeper finishes an interrupted termination.
    await deliverStopped(w);
    if ((await w.a.store.get("workspace", workspaceId))?.item.status === "ready") await terminate(w, workspaceId);
    await runSweeper(w);
    await deliverStopped(w);
  },
  async done(w, { workspaceId, done, running }) {
    const ws = (await w.a.store.get("workspace", workspaceId))?.item;
    expect(ws).toMatchObject({ status: "terminated", terminationReason: "user" });
    expect((await w.a.store.get("job", done))?.item.status).toBe("succeeded");
    expect((await w.a.store.get("job", running))?.item).toMatchObject({ status: "cancelled" });
    expect(runningTasks(w)).toEqual([]);
    const prefix = `permits/${PERMIT}/workspaces/${workspaceId}/`;
    expect(w.s3.versions(BUCKETS.workspaces, prefix)).toEqual([]);
    expect(w.s3.versions(BUCKETS.staging, `${prefix}staging/`)).toEqual([]);
    // Outputs are archived under the permit key; when that failed, termination went on (the plaintext is
    // wiped all the same, by design) and the loss is in the audit trail.
    const archived = w.s3.objects(BUCKETS.outputs, prefix).map((o) => o.key.slice(prefix.length));
    const lost = (await auditRecords(w)).filter(
      (r) =>
        r.action === "workspace.outputs_archived" && r.outcome === "failed" && r.target === `workspace/${workspaceId}`,
    );
    expect(archived.length === 0 ? lost.length : archived).toEqual(
      archived.length === 0 ? 1 : ["outputs/by-stage.csv"],
    );
    expect(w.s3.objects(BUCKETS.staging, `${prefix}jobs/${done}/`)).toHaveLength(2); // its stdout and stderr
    expect(w.kms.keys().flatMap((k) => k.grants)).toEqual([]);
    expect(w.scheduler.names()).toEqual([]);
  },
};

const dynamo = await LocalDynamo.start();
afterAll(() => dynamo.close());
const table = await recordStep(dynamo, step);

describeFaults("terminate", dynamo, table);

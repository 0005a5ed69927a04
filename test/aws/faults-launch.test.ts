/**
 * Fault injection, launch and staging: the researcher's launch (API Lambda: DynamoDB, Scheduler, the
 * provision invoke) and the provisioning it dispatches (provision Lambda: staging under the permit key,
 * the task role, the KMS grant, the workspace area). Every AWS call fails in turn, throttled or refused.
 */
import { afterAll, expect } from "vitest";
import { workspaceMarkerKey } from "../../packages/aws/src/agent/protocol";
import { LocalDynamo } from "../../packages/aws/src/dynalite-harness";
import { describeFaults, recordStep, type Step } from "./support/fault-table";
import { launch, PERMIT, registerDatasetAndPermit, runProvisioner, runSweeper } from "./support/flow";
import { stateOf } from "./support/invariants";
import { type AwsWorld, BUCKETS } from "./support/world";

async function workspacesOfPermit(w: AwsWorld) {
  return [...(await stateOf(w)).workspaces.values()].filter((ws) => ws.permitId === PERMIT);
}

const step: Step<null> = {
  async arrange(w) {
    await registerDatasetAndPermit(w);
    return null;
  },
  async act(w) {
    await launch(w, "launch-1");
    for (const r of await runProvisioner(w)) if (r.error) throw r.error;
  },
  async recover(w) {
    // The client retries with the same Idempotency-Key; Lambda runs what is queued; the sweeper runs.
    await launch(w, "launch-1");
    await runProvisioner(w);
    // Later, the sweeper dispatches again what is still provisioning (a lost dispatch).
    w.clock.t += 21 * 60_000;
    await runSweeper(w);
    await w.a.dispatcher.idle();
    await runProvisioner(w);
    // A workspace that failed stays failed: the researcher launches another one.
    if (!(await workspacesOfPermit(w)).some((ws) => ws.status === "ready")) {
      await launch(w, "launch-2");
      await runProvisioner(w);
    }
  },
  async done(w) {
    const all = await workspacesOfPermit(w);
    const ready = all.filter((ws) => ws.status === "ready");
    expect(ready, JSON.stringify(all.map((ws) => [ws.status, ws.failureReason]))).toHaveLength(1);
    for (const ws of all.filter((x) => x.status !== "ready")) {
      expect(ws.status).toBe("failed");
      expect(ws.failureReason).toBeTruthy();
    }
    const ws = ready[0] as (typeof ready)[number];
    const prefix = `permits/${PERMIT}/workspaces/${ws.id}/`;
    expect(ws.manifest?.map((f) => f.path)).toEqual(["ds-oncology/patients.csv", "ds-oncology/visits/q1.csv"]);
    expect(w.s3.objects(BUCKETS.workspaces, `${prefix}data/`).map((o) => o.key.slice(prefix.length))).toEqual([
      "data/ds-oncology/patients.csv",
      "data/ds-oncology/visits/q1.csv",
    ]);
    expect(w.s3.objects(BUCKETS.workspaces, workspaceMarkerKey(prefix))).toHaveLength(1);
    expect(w.s3.objects(BUCKETS.staging, prefix).map((o) => o.key.slice(prefix.length))).toEqual([
      "identifiers",
      "staging/ds-oncology/patients.csv",
      "staging/ds-oncology/visits/q1.csv",
    ]);
    const grants = w.kms.keys().flatMap((k) => k.grants.map((g) => g.name));
    expect(grants).toEqual([`ws-${ws.id}`]);
    expect(w.scheduler.names()).toEqual([`test-${ws.id}`]);
  },
  async failure(w) {
    const failed = (await workspacesOfPermit(w)).find((ws) => ws.status === "failed");
    return failed?.failureReason ?? null;
  },
};

const dynamo = await LocalDynamo.start();
afterAll(() => dynamo.close());
const table = await recordStep(dynamo, step);

describeFaults("launch and staging", dynamo, table);

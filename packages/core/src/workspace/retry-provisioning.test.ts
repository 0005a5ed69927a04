import { describe, expect, it } from "vitest";
import { MemoryStore } from "../egress/test-support";
import type { Deps } from "../ports";
import { Workspace, workspaceView } from "./index";
import type { Workspace as WorkspaceT } from "./schema";

const MIN = 60_000;
const ws: WorkspaceT = {
  id: "ws-1",
  permitId: "P",
  owner: "alice",
  status: "provisioning",
  createdAt: "2026-06-01T10:00:00.000Z",
  expiresAt: "2026-06-01T18:00:00.000Z",
  terminatedAt: null,
  terminationReason: null,
};

async function world() {
  const store = new MemoryStore();
  await store.commit({ writes: [{ kind: "workspace", item: ws, expectedVersion: null }], audit: [] });
  let t = Date.parse(ws.createdAt);
  const dispatched: string[] = [];
  const deps = {
    store,
    clock: { now: () => new Date(t) },
    dispatcher: { dispatch: (task: { workspaceId: string }) => dispatched.push(task.workspaceId) },
  } as unknown as Deps;
  return { store, deps, dispatched, advance: (ms: number) => (t += ms) };
}

describe("Workspace.retryProvisioning (the AWS sweeper's backstop for a lost dispatch or a dead run)", () => {
  it("dispatches once per period, never while a run may still be going, and audits each retry", async () => {
    const w = await world();
    w.advance(19 * MIN);
    expect(await Workspace.retryProvisioning(w.deps, "ws-1", 20 * MIN, "system:sweeper")).toBe(false);
    w.advance(2 * MIN);
    // Two sweepers at once: the retry time is a conditional write, so only one dispatches.
    const raced = await Promise.all([
      Workspace.retryProvisioning(w.deps, "ws-1", 20 * MIN, "system:sweeper"),
      Workspace.retryProvisioning(w.deps, "ws-1", 20 * MIN, "system:sweeper"),
    ]);
    expect(raced.filter(Boolean)).toHaveLength(1);
    expect(w.dispatched).toEqual(["ws-1"]);
    // The next sweeps within 20 minutes of that retry leave the new run alone.
    w.advance(15 * MIN);
    expect(await Workspace.retryProvisioning(w.deps, "ws-1", 20 * MIN, "system:sweeper")).toBe(false);
    w.advance(6 * MIN);
    expect(await Workspace.retryProvisioning(w.deps, "ws-1", 20 * MIN, "system:sweeper")).toBe(true);
    expect(w.dispatched).toEqual(["ws-1", "ws-1"]);
    expect(w.store.records.map((r) => [r.action, r.details.pendingSince])).toEqual([
      ["workspace.provision_retried", "2026-06-01T10:00:00.000Z"],
      ["workspace.provision_retried", "2026-06-01T10:21:00.000Z"],
    ]);
  });

  it("leaves a workspace that is no longer provisioning alone, and never shows the retry time", async () => {
    const w = await world();
    const v = await w.store.get("workspace", "ws-1");
    await w.store.commit({
      writes: [{ kind: "workspace", item: { ...ws, status: "ready" }, expectedVersion: v?.version ?? null }],
      audit: [],
    });
    w.advance(60 * MIN);
    expect(await Workspace.retryProvisioning(w.deps, "ws-1", 20 * MIN, "system:sweeper")).toBe(false);
    expect(w.dispatched).toEqual([]);
    expect(workspaceView({ ...ws, provisionRetriedAt: "2026-06-01T10:21:00.000Z" })).not.toHaveProperty(
      "provisionRetriedAt",
    );
  });
});

import { describe, expect, it } from "vitest";
import { MemoryStore } from "./egress/test-support";
import type { Job } from "./job/schema";
import type { Deps, JobSpec } from "./ports";
import { sweep } from "./sweep";
import type { Workspace } from "./workspace/schema";

const ws: Workspace = {
  id: "ws-1",
  permitId: "P",
  owner: "alice",
  status: "ready",
  createdAt: "2026-06-01T10:00:00.000Z",
  expiresAt: "2026-06-01T18:00:00.000Z",
  terminatedAt: null,
  terminationReason: null,
};
const job = (id: string, status: Job["status"]): Job => ({
  id,
  workspaceId: "ws-1",
  permitId: "P",
  owner: "alice",
  command: ["python3", "home/a.py"],
  timeoutSeconds: 600,
  status,
  exitCode: null,
  reason: null,
  createdAt: "2026-06-01T10:05:00.000Z",
  startedAt: status === "running" ? "2026-06-01T10:05:01.000Z" : null,
  finishedAt: null,
});

async function world(jobs: Job[]) {
  const store = new MemoryStore();
  await store.commit({
    writes: [
      { kind: "workspace", item: ws, expectedVersion: null },
      ...jobs.map((j) => ({ kind: "job" as const, item: j, expectedVersion: null })),
    ],
    audit: [],
  });
  const started: JobSpec[] = [];
  const deps = {
    store,
    clock: { now: () => new Date("2026-06-01T11:00:00.000Z") },
    runtime: {
      listFiles: async () => [],
      startJob: async (spec: JobSpec) => {
        started.push(spec);
      },
    },
  } as unknown as Deps;
  return { store, deps, started };
}

describe("sweep", () => {
  it("starts a queued job whose start was lost (nothing running), as the next job end would have", async () => {
    const w = await world([job("job-1", "queued")]);
    const report = await sweep(w.deps);
    expect(report.failures).toEqual([]);
    expect(w.started.map((s) => s.jobId)).toEqual(["job-1"]);
    expect((await w.store.get("job", "job-1"))?.item.status).toBe("running");
    // Sweeping again starts nothing twice.
    await sweep(w.deps);
    expect(w.started).toHaveLength(1);
  });

  it("leaves the queue alone while the workspace's two job slots are taken", async () => {
    const w = await world([job("job-1", "running"), job("job-2", "running"), job("job-3", "queued")]);
    await sweep(w.deps);
    expect(w.started).toEqual([]);
    expect((await w.store.get("job", "job-3"))?.item.status).toBe("queued");
  });
});

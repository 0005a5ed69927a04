import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultRunDir } from "@spe/local";
import { afterEach, describe, expect, it } from "vitest";
import { HOUR, launchReady, seedWorld } from "../helpers/fixtures";
import { makeNode, TestClock, type TestNode } from "../helpers/node";

const nodes: TestNode[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.dispose().catch(() => {});
  for (const d of dirs.splice(0)) {
    rmSync(defaultRunDir(d), { recursive: true, force: true });
    rmSync(d, { recursive: true, force: true });
  }
});
const track = (n: TestNode) => {
  nodes.push(n);
  return n;
};

async function waitFor(check: () => Promise<boolean>, ms: number) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

describe("expiry", () => {
  it("terminates a workspace by its timer at expiresAt, with reason expired", async () => {
    const n = track(makeNode({ clock: new TestClock(undefined, true) }));
    const w = await seedWorld(n);
    const ws = await launchReady(n, w.alice, w.permitId, 0.0004); // 1.44 s
    expect(ws.status).toBe("ready");
    const get = () => n.call("GET", `/v1/workspaces/${ws.id}`, { token: w.alice });
    expect(await waitFor(async () => (await get()).body.status === "terminated", 5000)).toBe(true);
    const done = (await get()).body;
    expect(done.terminationReason).toBe("expired");
    expect(Date.parse(done.terminatedAt)).toBeGreaterThanOrEqual(Date.parse(ws.expiresAt));
    expect(existsSync(join(n.runDir, ws.id))).toBe(false);
    const log = await n.call("GET", `/v1/audit?workspaceId=${ws.id}&action=workspace.terminated`, { token: w.auditor });
    expect(log.body.items[0].actor).toBe("system:expiry");
  });

  it("moves a timer when the workspace is extended", async () => {
    const n = track(makeNode());
    const w = await seedWorld(n);
    const ws = await launchReady(n, w.alice, w.permitId, 1);
    await n.call("POST", `/v1/workspaces/${ws.id}/extend`, { token: w.alice, body: { hours: 1 } });
    n.clock.advance(1.5 * HOUR);
    // The old expiry time has passed but the workspace was extended: expire() leaves it alone.
    const { Workspace } = await import("@spe/core");
    expect(await Workspace.expire(n.deps, ws.id)).toBe(false);
    n.clock.advance(HOUR);
    expect(await Workspace.expire(n.deps, ws.id)).toBe(true);
  });

  it("terminates overdue workspaces at startup after a restart, and re-arms timers for the rest", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "spe-restart-"));
    dirs.push(dataDir);
    const clock = new TestClock();
    const first = makeNode({ dataDir, clock });
    const w = await seedWorld(first);
    const short = await launchReady(first, w.alice, w.permitId, 1);
    const long = await launchReady(first, w.carol, w.permitId, 6);
    await first.dispose(); // the process stops: its timers are gone

    clock.advance(2 * HOUR);
    const second = track(makeNode({ dataDir, clock }));
    await second.startBackground();
    const get = (id: string) => second.call("GET", `/v1/workspaces/${id}`, { token: w.admin });
    expect((await get(short.id)).body).toMatchObject({ status: "terminated", terminationReason: "expired" });
    expect(existsSync(join(second.runDir, short.id))).toBe(false);
    expect((await get(long.id)).body.status).toBe("ready");
    expect(second.scheduler.size).toBe(1);
    const log = await second.call("GET", `/v1/audit?workspaceId=${short.id}&action=workspace.terminated`, {
      token: w.admin,
    });
    expect(log.body.items[0].actor).toBe("system:sweeper");
  });

  it("the periodic sweeper terminates what a lost timer missed", async () => {
    const n = track(makeNode({ clock: new TestClock(undefined, true), sweepIntervalMs: 100 }));
    const w = await seedWorld(n);
    const ws = await launchReady(n, w.alice, w.permitId, 1);
    await n.startBackground();
    await n.scheduler.cancel(ws.id); // lose the timer
    n.clock.advance(HOUR);
    const get = () => n.call("GET", `/v1/workspaces/${ws.id}`, { token: w.alice });
    expect(await waitFor(async () => (await get()).body.status === "terminated", 3000)).toBe(true);
  });

  it("finishes a termination interrupted between stopping and terminated", async () => {
    const n = track(makeNode());
    const w = await seedWorld(n);
    const ws = await launchReady(n, w.alice, w.permitId);
    const { beginStop } = await import("@spe/core");
    const v = await n.store.get("workspace", ws.id);
    await beginStop(n.deps, "alice", v!, "user"); // crash right after this commit
    expect((await n.sweep()).workspacesTerminated).toBe(1);
    expect((await n.call("GET", `/v1/workspaces/${ws.id}`, { token: w.alice })).body).toMatchObject({
      status: "terminated",
      terminationReason: "user",
    });
    expect(existsSync(join(n.runDir, ws.id))).toBe(false);
  });
});

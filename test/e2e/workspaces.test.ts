import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DAY, HOUR, launchReady, permitBody, seedWorld, type World } from "../helpers/fixtures";
import { makeNode, type TestNode } from "../helpers/node";

let n: TestNode;
let w: World;
beforeEach(async () => {
  n = makeNode();
  w = await seedWorld(n);
});
afterEach(() => n.dispose());

const launch = (token: string, body: unknown = { hours: 2 }, permitId = w.permitId, headers = {}) =>
  n.call("POST", `/v1/permits/${permitId}/workspaces`, { token, body, headers });
const wsDir = (id: string) => join(n.runDir, id);
const auditCount = async () => (await n.call("GET", "/v1/audit/verify", { token: w.auditor })).body.count as number;

describe("launch", () => {
  it("launches a workspace that becomes ready with private areas, read-only data and a manifest", async () => {
    const res = await launch(w.alice, { hours: 1.5 });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({
      permitId: w.permitId,
      owner: "alice",
      status: "provisioning",
      terminatedAt: null,
    });
    expect(Date.parse(res.body.expiresAt) - n.clock.t).toBe(1.5 * HOUR);
    await n.dispatcher.idle();
    const ws = await n.call("GET", `/v1/workspaces/${res.body.id}`, { token: w.alice });
    expect(ws.body).toMatchObject({
      status: "ready",
      isolation: "bubblewrap",
      manifest: [{ dataset: w.datasetId, path: `${w.datasetId}/registry.csv` }],
    });
    const { statSync } = await import("node:fs");
    // Ours, traversable by the workspace's own user (it runs as root here); areas private to that user.
    expect(statSync(wsDir(res.body.id)).mode & 0o777).toBe(0o711);
    for (const area of ["home", "outputs"]) {
      expect(statSync(join(wsDir(res.body.id), area)).mode & 0o777).toBe(0o700);
    }
    expect(statSync(join(wsDir(res.body.id), "data")).mode & 0o777).toBe(0o550); // read-only, group only
  });

  it("defaults to 4 hours and caps expiresAt at the permit's validUntil", async () => {
    await n.call("POST", "/v1/permits", {
      token: w.admin,
      body: permitBody(n, { id: "P-short", validUntil: new Date(n.clock.t + HOUR).toISOString() }),
    });
    const res = await launch(w.alice, {}, "P-short");
    expect(res.status).toBe(202);
    expect(res.body.expiresAt).toBe(new Date(n.clock.t + HOUR).toISOString());
    // No body at all: every field has a default.
    const def = await n.call("POST", `/v1/permits/${w.permitId}/workspaces`, { token: w.alice });
    expect(def.status).toBe(202);
    expect(Date.parse(def.body.expiresAt) - n.clock.t).toBe(4 * HOUR);
    await n.dispatcher.idle();
  });

  it.each([
    [{ hours: 0 }, "hours"],
    [{ hours: 9 }, "hours"],
    [{ hours: "two" }, "hours"],
    [{ hours: 1, gpu: true }, "(body)"],
  ])("refuses %j with 400 and creates nothing", async (body, path) => {
    const res = await launch(w.alice, body);
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    expect((await n.call("GET", "/v1/workspaces", { token: w.alice })).body.items).toHaveLength(0);
  });

  it("answers 404 to a researcher not named on the permit, 403 to one who can see it but is not named", async () => {
    expect((await launch(w.bob)).status).toBe(404);
    const adminResearcher = await n.token("ana", "admin", "researcher");
    const res = await launch(adminResearcher);
    expect(res.status).toBe(403);
    expect(res.body.code).toBe("permit.not_named");
    expect((await launch(w.reviewer)).status).toBe(403);
    expect((await n.call("GET", "/v1/workspaces", { token: w.admin })).body.items).toHaveLength(0);
  });

  it("answers 409 when the permit is not active", async () => {
    await n.call("POST", `/v1/permits/${w.permitId}/suspend`, { token: w.admin, body: { reason: "check" } });
    const res = await launch(w.alice);
    expect(res.status).toBe(409);
    expect(res.body.code).toBe("permit.not_active");
  });

  it("enforces maxConcurrentWorkspaces, counting only live workspaces", async () => {
    const a = await launch(w.alice);
    await launch(w.carol);
    const third = await launch(w.alice);
    expect(third.status).toBe(409);
    expect(third.body.code).toBe("permit.workspace_limit");
    await n.dispatcher.idle();
    expect((await n.call("DELETE", `/v1/workspaces/${a.body.id}`, { token: w.alice })).status).toBe(202);
    expect((await launch(w.alice)).status).toBe(202);
  });

  it("lets exactly one of many racing launches over the limit win", async () => {
    await launch(w.alice); // 1 of 2 used
    const results = await Promise.all(Array.from({ length: 6 }, () => launch(w.alice)));
    expect(results.filter((r) => r.status === 202)).toHaveLength(1);
    expect(results.filter((r) => r.status === 409)).toHaveLength(5);
    const live = await n.call("GET", `/v1/workspaces?permitId=${w.permitId}`, { token: w.admin });
    expect(live.body.items).toHaveLength(2);
    await n.dispatcher.idle();
  });

  it("replays a launch with the same Idempotency-Key, even when racing", async () => {
    const headers = { "idempotency-key": "launch-1" };
    const [a, b] = await Promise.all([
      launch(w.alice, { hours: 2 }, w.permitId, headers),
      launch(w.alice, { hours: 2 }, w.permitId, headers),
    ]);
    expect(a.status).toBe(202);
    expect(b.status).toBe(202);
    expect(b.body.id).toBe(a.body.id);
    const c = await launch(w.alice, { hours: 2 }, w.permitId, headers);
    expect(c.body.id).toBe(a.body.id);
    expect((await n.call("GET", "/v1/workspaces", { token: w.alice })).body.items).toHaveLength(1);
    // The same key from another caller is theirs: it creates their own workspace.
    const carol = await launch(w.carol, { hours: 2 }, w.permitId, headers);
    expect(carol.body.id).not.toBe(a.body.id);
    expect((await launch(w.alice, { hours: 3 }, w.permitId, headers)).status).toBe(409);
    await n.dispatcher.idle();
  });
});

describe("read", () => {
  it("shows owners their own workspaces, admins all, and others a 404", async () => {
    const ws = await launchReady(n, w.alice, w.permitId);
    await launchReady(n, w.carol, w.permitId);
    expect((await n.call("GET", "/v1/workspaces", { token: w.alice })).body.items).toHaveLength(1);
    expect((await n.call("GET", "/v1/workspaces", { token: w.admin })).body.items).toHaveLength(2);
    const other = await n.call("GET", `/v1/workspaces/${ws.id}`, { token: w.carol });
    expect(other.status).toBe(404);
    expect(other.body.code).toBe("workspace.not_found");
    const missing = await n.call("GET", "/v1/workspaces/ws-doesnotexist", { token: w.carol });
    expect(missing.body).toEqual({ ...other.body, detail: missing.body.detail });
    expect((await n.call("GET", `/v1/workspaces/${ws.id}`, { token: w.auditor })).status).toBe(403);
    expect((await n.call("GET", "/v1/workspaces", { token: w.reviewer })).status).toBe(403);
    const refusals = await n.call("GET", "/v1/audit?outcome=denied&limit=500", { token: w.auditor });
    expect(refusals.status).toBe(400); // unknown filter: strict query schemas catch typos
    const listDenied = await n.call("GET", "/v1/audit?action=workspace.list", { token: w.auditor });
    expect(listDenied.body.items).toEqual([expect.objectContaining({ actor: "rui", outcome: "denied" })]);
    const denied = await n.call("GET", "/v1/audit?action=workspace.read", { token: w.auditor });
    expect(denied.body.items).toEqual([
      expect.objectContaining({ actor: "carol", outcome: "denied", target: `workspace/${ws.id}` }),
      expect.objectContaining({ actor: "otto", outcome: "denied", target: `workspace/${ws.id}` }),
    ]);
  });

  it("pages lists with limit and cursor", async () => {
    await n.call("POST", "/v1/permits", {
      token: w.admin,
      body: permitBody(n, { id: "P-many", limits: { maxConcurrentWorkspaces: 10 } }),
    });
    for (let i = 0; i < 5; i++) await launch(w.alice, { hours: 1 }, "P-many");
    const first = await n.call("GET", "/v1/workspaces?limit=2", { token: w.alice });
    expect(first.body.items).toHaveLength(2);
    const second = await n.call("GET", `/v1/workspaces?limit=2&cursor=${first.body.next}`, { token: w.alice });
    const third = await n.call("GET", `/v1/workspaces?limit=2&cursor=${second.body.next}`, { token: w.alice });
    expect(third.body.next).toBeNull();
    const ids = [...first.body.items, ...second.body.items, ...third.body.items].map((x: { id: string }) => x.id);
    expect(new Set(ids).size).toBe(5);
    expect((await n.call("GET", "/v1/workspaces?limit=501", { token: w.alice })).status).toBe(400);
    await n.dispatcher.idle();
  });
});

describe("extend", () => {
  it("extends within the permit limit counted from createdAt, and refuses beyond with 409", async () => {
    const ws = await launchReady(n, w.alice, w.permitId, 4);
    const ok = await n.call("POST", `/v1/workspaces/${ws.id}/extend`, { token: w.alice, body: { hours: 3 } });
    expect(ok.status).toBe(200);
    expect(Date.parse(ok.body.expiresAt) - n.clock.t).toBe(7 * HOUR);
    const over = await n.call("POST", `/v1/workspaces/${ws.id}/extend`, { token: w.alice, body: { hours: 2 } });
    expect(over.status).toBe(409);
    expect(over.body.code).toBe("workspace.extend_beyond_limit");
    expect((await n.call("GET", `/v1/workspaces/${ws.id}`, { token: w.alice })).body.expiresAt).toBe(ok.body.expiresAt);
  });

  it("refuses to extend past the permit's validUntil", async () => {
    await n.call("POST", "/v1/permits", {
      token: w.admin,
      body: permitBody(n, { id: "P-end", validUntil: new Date(n.clock.t + 3 * HOUR).toISOString() }),
    });
    const ws = await launchReady(n, w.alice, "P-end", 2);
    const res = await n.call("POST", `/v1/workspaces/${ws.id}/extend`, { token: w.alice, body: { hours: 2 } });
    expect(res.status).toBe(409);
  });

  it("answers 404 to another researcher and 400 to a bad body", async () => {
    const ws = await launchReady(n, w.alice, w.permitId);
    expect(
      (await n.call("POST", `/v1/workspaces/${ws.id}/extend`, { token: w.carol, body: { hours: 1 } })).status,
    ).toBe(404);
    expect((await n.call("POST", `/v1/workspaces/${ws.id}/extend`, { token: w.alice, body: {} })).status).toBe(400);
  });
});

describe("terminate", () => {
  it("terminates with reason user and removes the workspace's areas", async () => {
    const ws = await launchReady(n, w.alice, w.permitId);
    expect(existsSync(wsDir(ws.id))).toBe(true);
    const res = await n.call("DELETE", `/v1/workspaces/${ws.id}`, { token: w.alice });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ status: "terminated", terminationReason: "user" });
    expect(res.body.terminatedAt).toBe(n.clock.now().toISOString());
    expect(existsSync(wsDir(ws.id))).toBe(false);
    expect((await n.call("DELETE", `/v1/workspaces/${ws.id}`, { token: w.alice })).status).toBe(409);
  });

  it("terminating while provisioning leaves nothing behind", async () => {
    await n.call("POST", "/v1/permits", {
      token: w.admin,
      body: permitBody(n, { id: "P-race", limits: { maxConcurrentWorkspaces: 40 } }),
    });
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const res = await launch(w.alice, { hours: 1 }, "P-race");
      ids.push(res.body.id);
      // No waiting for provisioning: the DELETE races the runtime's start.
      expect((await n.call("DELETE", `/v1/workspaces/${res.body.id}`, { token: w.alice })).status).toBe(202);
    }
    await n.dispatcher.idle();
    for (const id of ids) {
      expect((await n.call("GET", `/v1/workspaces/${id}`, { token: w.alice })).body.status).toBe("terminated");
      expect(existsSync(wsDir(id))).toBe(false);
    }
  });

  it("records reason admin when an admin terminates", async () => {
    const ws = await launchReady(n, w.alice, w.permitId);
    const res = await n.call("DELETE", `/v1/workspaces/${ws.id}`, { token: w.admin });
    expect(res.body.terminationReason).toBe("admin");
  });

  it("lets exactly one of two racing terminates win", async () => {
    const ws = await launchReady(n, w.alice, w.permitId);
    const [a, b] = await Promise.all([
      n.call("DELETE", `/v1/workspaces/${ws.id}`, { token: w.alice }),
      n.call("DELETE", `/v1/workspaces/${ws.id}`, { token: w.alice }),
    ]);
    expect([a.status, b.status].sort()).toEqual([202, 409]);
    const log = await n.call("GET", `/v1/audit?workspaceId=${ws.id}&action=workspace.terminated`, { token: w.auditor });
    expect(log.body.items).toHaveLength(1);
  });

  it("answers 404 when another researcher tries, and leaves the workspace ready", async () => {
    const ws = await launchReady(n, w.alice, w.permitId);
    expect((await n.call("DELETE", `/v1/workspaces/${ws.id}`, { token: w.carol })).status).toBe(404);
    expect((await n.call("GET", `/v1/workspaces/${ws.id}`, { token: w.alice })).body.status).toBe("ready");
    expect(existsSync(wsDir(ws.id))).toBe(true);
  });
});

describe("permit cascade", () => {
  it("revoking a permit terminates every workspace of it with reason permit_revoked, in one audited change", async () => {
    const a = await launchReady(n, w.alice, w.permitId);
    const c = await launchReady(n, w.carol, w.permitId);
    const before = await auditCount();
    const res = await n.call("POST", `/v1/permits/${w.permitId}/revoke`, {
      token: w.admin,
      body: { reason: "breach" },
    });
    expect(res.status).toBe(200);
    for (const [id, token] of [
      [a.id, w.alice],
      [c.id, w.carol],
    ] as const) {
      const ws = (await n.call("GET", `/v1/workspaces/${id}`, { token })).body;
      expect(ws).toMatchObject({ status: "terminated", terminationReason: "permit_revoked" });
      expect(existsSync(wsDir(id))).toBe(false);
    }
    const records = (await n.call("GET", `/v1/audit?after=${before}`, { token: w.auditor })).body.items;
    expect(records.map((r: { action: string }) => r.action)).toEqual([
      "permit.revoked",
      "workspace.stopping",
      "workspace.stopping",
      "workspace.terminated",
      "workspace.terminated",
      "permit.key_destroyed", // revoke is final: the permit's data is crypto-shredded
    ]);
    // The permit change and the moves to stopping were one commit: they share a timestamp.
    expect(new Set(records.slice(0, 3).map((r: { at: string }) => r.at)).size).toBe(1);
  });

  it("suspending terminates with permit_suspended; launching then fails with 409", async () => {
    const a = await launchReady(n, w.alice, w.permitId);
    await n.call("POST", `/v1/permits/${w.permitId}/suspend`, { token: w.admin, body: { reason: "review" } });
    expect((await n.call("GET", `/v1/workspaces/${a.id}`, { token: w.alice })).body.terminationReason).toBe(
      "permit_suspended",
    );
    expect((await launch(w.alice)).status).toBe(409);
  });

  it("permit expiry terminates workspaces with permit_expired (sweeper)", async () => {
    await n.call("POST", "/v1/permits", {
      token: w.admin,
      body: permitBody(n, {
        id: "P-exp",
        validUntil: new Date(n.clock.t + DAY).toISOString(),
        limits: { maxWorkspaceHours: 48 },
      }),
    });
    const ws = await launchReady(n, w.alice, "P-exp", 30);
    expect(ws.expiresAt).toBe(new Date(n.clock.t + DAY).toISOString());
    n.clock.advance(DAY);
    const report = await n.sweep();
    expect(report).toMatchObject({ permitsExpired: 1 });
    expect((await n.call("GET", `/v1/workspaces/${ws.id}`, { token: w.alice })).body).toMatchObject({
      status: "terminated",
      terminationReason: "permit_expired",
    });
    expect((await n.sweep()).permitsExpired).toBe(0);
    const log = await n.call("GET", "/v1/audit?action=permit.expired", { token: w.auditor });
    expect(log.body.items).toHaveLength(1);
  });
});

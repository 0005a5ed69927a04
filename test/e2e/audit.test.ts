import { chainRecord, GENESIS_HASH } from "@spe/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { launchReady, seedWorld, type World } from "../helpers/fixtures";
import { makeNode, type TestNode } from "../helpers/node";

let n: TestNode;
let w: World;
beforeEach(async () => {
  n = makeNode();
  w = await seedWorld(n);
});
afterEach(() => n.dispose());

const verify = async () => (await n.call("GET", "/v1/audit/verify", { token: w.auditor })).body;
const sql = (s: string) => n.store.db.exec(s);
const unlock = () =>
  sql(
    "DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete; DROP TRIGGER seals_no_update; DROP TRIGGER seals_no_delete;",
  );

describe("audit records", () => {
  it("chains every state change: seq, prevHash, hash, and never a data value", async () => {
    const ws = await launchReady(n, w.alice, w.permitId);
    const res = await n.call("GET", "/v1/audit?limit=500", { token: w.admin });
    const items = res.body.items;
    expect(items.map((r: { action: string }) => r.action)).toEqual([
      "dataset.created",
      "permit.created",
      "workspace.launched",
      "workspace.ready",
    ]);
    expect(items[0].prevHash).toBe(GENESIS_HASH);
    for (let i = 1; i < items.length; i++) expect(items[i].prevHash).toBe(items[i - 1].hash);
    expect(items[2]).toMatchObject({
      seq: 3,
      actor: "alice",
      outcome: "allowed",
      target: `workspace/${ws.id}`,
      details: { permitId: w.permitId, workspaceId: ws.id, hours: 2 },
    });
    expect(await verify()).toMatchObject({ ok: true, count: 4, head: items[3].hash });
  });

  it("filters by permit, workspace, actor, action and pages with after/cursor", async () => {
    const ws = await launchReady(n, w.alice, w.permitId);
    await launchReady(n, w.carol, w.permitId);
    const byWs = await n.call("GET", `/v1/audit?workspaceId=${ws.id}`, { token: w.auditor });
    expect(byWs.body.items.map((r: { action: string }) => r.action)).toEqual(["workspace.launched", "workspace.ready"]);
    const byActor = await n.call("GET", "/v1/audit?actor=carol", { token: w.auditor });
    expect(byActor.body.items).toHaveLength(1);
    const byPermit = await n.call("GET", `/v1/audit?permitId=${w.permitId}&limit=2`, { token: w.auditor });
    expect(byPermit.body.items).toHaveLength(2);
    const next = await n.call("GET", `/v1/audit?permitId=${w.permitId}&limit=2&cursor=${byPermit.body.next}`, {
      token: w.auditor,
    });
    expect(next.body.items[0].seq).toBeGreaterThan(byPermit.body.items[1].seq);
    expect((await n.call("GET", "/v1/audit?after=5", { token: w.auditor })).body.items[0].seq).toBe(6);
  });

  it("is readable by admins and auditors only", async () => {
    expect((await n.call("GET", "/v1/audit", { token: w.alice })).status).toBe(403);
    expect((await n.call("GET", "/v1/audit/verify", { token: w.reviewer })).status).toBe(403);
    expect((await n.call("GET", "/v1/audit", {})).status).toBe(401);
  });

  it("records denied attempts, including unauthenticated ones", async () => {
    await n.call("GET", "/v1/permits", { token: "not-a-jwt" });
    await n.call("POST", "/v1/datasets", { token: w.alice, body: { id: "x" } }); // 400: not audited
    await n.call("POST", `/v1/permits/${w.permitId}/revoke`, { token: w.alice, body: { reason: "x" } });
    const items = (await n.call("GET", "/v1/audit?after=2", { token: w.auditor })).body.items;
    expect(
      items.map((r: { actor: string; action: string; outcome: string }) => `${r.actor} ${r.action} ${r.outcome}`),
    ).toEqual(["anonymous auth.denied denied", "alice permit.revoked denied"]);
    expect(items[0].details).toEqual({ reason: "invalid token" });
  });

  it("refuses to update or delete a stored record (append-only)", () => {
    expect(() => sql("UPDATE audit SET hash = 'x' WHERE seq = 1")).toThrow(/append-only/);
    expect(() => sql("UPDATE audit SET actor = 'x' WHERE seq = 1")).toThrow(); // generated from the body
    expect(() => sql("DELETE FROM audit WHERE seq = 1")).toThrow(/append-only/);
  });
});

describe("atomicity", () => {
  const failAuditAppends = () =>
    sql("CREATE TEMP TRIGGER fail_audit BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'disk full'); END;");

  it("a launch whose audit append fails is not performed (503) and leaves no workspace", async () => {
    const before = await verify();
    failAuditAppends();
    const res = await n.call("POST", `/v1/permits/${w.permitId}/workspaces`, { token: w.alice, body: { hours: 1 } });
    expect(res.status).toBe(503);
    expect(res.body.code).toBe("audit.unavailable");
    sql("DROP TRIGGER fail_audit");
    expect((await n.call("GET", "/v1/workspaces", { token: w.admin })).body.items).toEqual([]);
    expect(await verify()).toEqual(before);
  });

  it("a terminate whose audit append fails leaves the workspace ready and its areas in place", async () => {
    const ws = await launchReady(n, w.alice, w.permitId);
    const before = await verify();
    failAuditAppends();
    expect((await n.call("DELETE", `/v1/workspaces/${ws.id}`, { token: w.alice })).status).toBe(503);
    sql("DROP TRIGGER fail_audit");
    expect((await n.call("GET", `/v1/workspaces/${ws.id}`, { token: w.alice })).body.status).toBe("ready");
    expect(await n.deps.runtime.exists(ws.id)).toBe(true);
    expect(await verify()).toEqual(before);
  });

  it("a revoke whose audit append fails changes neither the permit nor its workspaces", async () => {
    const ws = await launchReady(n, w.alice, w.permitId);
    failAuditAppends();
    const res = await n.call("POST", `/v1/permits/${w.permitId}/revoke`, { token: w.admin, body: { reason: "x" } });
    expect(res.status).toBe(503);
    sql("DROP TRIGGER fail_audit");
    expect((await n.call("GET", `/v1/permits/${w.permitId}`, { token: w.admin })).body.status).toBe("active");
    expect((await n.call("GET", `/v1/workspaces/${ws.id}`, { token: w.alice })).body.status).toBe("ready");
  });
});

describe("tamper detection", () => {
  beforeEach(async () => {
    await launchReady(n, w.alice, w.permitId);
    await launchReady(n, w.carol, w.permitId); // 6 records
  });

  it("detects an edited record", async () => {
    unlock();
    sql("UPDATE audit SET body = replace(body, '\"alice\"', '\"mallory\"') WHERE seq = 3");
    expect(await verify()).toMatchObject({ ok: false, brokenAt: 3, reason: expect.stringMatching(/altered/) });
  });

  it("detects an edited record whose hash was recomputed (the next link breaks)", async () => {
    unlock();
    const row = n.store.db.prepare("SELECT body FROM audit WHERE seq = 3").get() as { body: string };
    const forged = JSON.parse(row.body);
    forged.actor = "mallory";
    const rec = chainRecord(
      {
        actor: forged.actor,
        action: forged.action,
        target: forged.target,
        outcome: forged.outcome,
        details: forged.details,
      },
      3,
      forged.at,
      forged.prevHash,
    );
    n.store.db.prepare("UPDATE audit SET body = ?, hash = ? WHERE seq = 3").run(rec.body, rec.hash);
    expect(await verify()).toMatchObject({ ok: false, brokenAt: 4 });
  });

  it("detects a deleted record", async () => {
    unlock();
    sql("DELETE FROM audit WHERE seq = 2");
    expect(await verify()).toMatchObject({ ok: false, brokenAt: 2, reason: expect.stringMatching(/missing/) });
  });

  it("detects reordered records", async () => {
    unlock();
    sql(
      `UPDATE audit SET seq = -1 WHERE seq = 3; UPDATE audit SET seq = 3 WHERE seq = 4; UPDATE audit SET seq = 4 WHERE seq = -1;`,
    );
    expect(await verify()).toMatchObject({ ok: false, brokenAt: 3 });
  });

  it("detects a truncated tail once the head has been sealed", async () => {
    const seal = await n.seal();
    expect(seal).toMatchObject({ n: 1, count: 6 });
    expect(await verify()).toMatchObject({ ok: true, count: 6, sealed: { count: 6 } });
    unlock();
    sql("DELETE FROM audit WHERE seq >= 5");
    expect(await verify()).toMatchObject({ ok: false, brokenAt: 5, reason: expect.stringMatching(/truncated/) });
  });

  it("detects a whole chain rewritten consistently after a seal", async () => {
    await n.seal();
    unlock();
    const rows = n.store.db.prepare("SELECT seq, body FROM audit ORDER BY seq").all() as {
      seq: number;
      body: string;
    }[];
    let prev = GENESIS_HASH;
    sql("DELETE FROM audit");
    for (const r of rows) {
      const o = JSON.parse(r.body);
      const actor = o.actor === "carol" ? "mallory" : o.actor;
      const rec = chainRecord(
        { actor, action: o.action, target: o.target, outcome: o.outcome, details: o.details },
        r.seq,
        o.at,
        prev,
      );
      n.store.db.prepare("INSERT INTO audit (seq, hash, body) VALUES (?, ?, ?)").run(rec.seq, rec.hash, rec.body);
      prev = rec.hash;
    }
    expect(await verify()).toMatchObject({ ok: false, reason: expect.stringMatching(/rewritten/) });
  });

  it("detects a forged or removed seal", async () => {
    await n.seal();
    await launchReady(n, w.alice, w.permitId).catch(() => {}); // limit reached: a denied record, then seal again
    await n.seal();
    unlock();
    const s1 = n.store.db.prepare("SELECT body FROM audit_seals WHERE n = 1").get() as { body: string };
    const forged = { ...JSON.parse(s1.body), count: 5 };
    n.store.db.prepare("UPDATE audit_seals SET body = ? WHERE n = 1").run(JSON.stringify(forged));
    expect(await verify()).toMatchObject({ ok: false, reason: expect.stringMatching(/signature/) });
    sql("DELETE FROM audit_seals WHERE n = 1");
    expect(await verify()).toMatchObject({ ok: false, reason: expect.stringMatching(/missing or out of order/) });
  });

  it("refuses to start a node whose seals exist but whose signing key was removed", async () => {
    await n.seal();
    await n.close();
    const { rmSync } = await import("node:fs");
    rmSync(`${n.dataDir}/keys/audit-signing.pem`);
    expect(() => makeNode({ dataDir: n.dataDir })).toThrow(/restore the key/);
  });

  it("seals only when the head moved, each seal chaining to the previous one", async () => {
    const first = await n.seal();
    expect(await n.seal()).toBeNull();
    await n.call("GET", "/v1/permits", { token: "bad" }); // a denied attempt moves the head
    const second = await n.seal();
    expect(second).toMatchObject({ n: 2, count: 7 });
    expect(second?.prevSealHash).not.toBe(first?.prevSealHash);
    expect(await verify()).toMatchObject({ ok: true, sealed: { count: 7 } });
  });
});

import { symlinkSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DAY, datasetSource, permitBody, seedWorld, type World } from "../helpers/fixtures";
import { makeNode, type TestNode } from "../helpers/node";

let n: TestNode;
let w: World;
beforeEach(async () => {
  n = makeNode();
  w = await seedWorld(n);
});
afterEach(() => n.dispose());

const auditActions = async () =>
  (await n.call("GET", "/v1/audit?limit=500", { token: w.auditor })).body.items.map(
    (r: { action: string; outcome: string }) => `${r.action}:${r.outcome}`,
  );

describe("datasets", () => {
  it("registers a dataset and lets admins and reviewers read it", async () => {
    const list = await n.call("GET", "/v1/datasets", { token: w.reviewer });
    expect(list.status).toBe(200);
    expect(list.body.items.map((d: { id: string }) => d.id)).toEqual([w.datasetId]);
    const one = await n.call("GET", `/v1/datasets/${w.datasetId}`, { token: w.admin });
    expect(one.body).toMatchObject({
      id: w.datasetId,
      format: "csv",
      identifierColumns: ["patient_id"],
      createdBy: "ana",
    });
  });

  it("shows a researcher only the datasets of permits naming them", async () => {
    expect((await n.call("GET", "/v1/datasets", { token: w.alice })).body.items).toHaveLength(1);
    expect((await n.call("GET", "/v1/datasets", { token: w.bob })).body.items).toHaveLength(0);
    expect((await n.call("GET", `/v1/datasets/${w.datasetId}`, { token: w.bob })).status).toBe(404);
    expect(await auditActions()).toContain("dataset.read:denied");
  });

  it("refuses a duplicate id with 409 and changes nothing", async () => {
    const res = await n.call("POST", "/v1/datasets", {
      token: w.admin,
      body: { id: w.datasetId, title: "other", holder: "h", source: datasetSource(n, "other"), format: "csv" },
    });
    expect(res.status).toBe(409);
    expect(res.body.code).toBe("dataset.exists");
    expect((await n.call("GET", `/v1/datasets/${w.datasetId}`, { token: w.admin })).body.title).toBe(
      "Oncology registry",
    );
  });

  it("refuses a source that does not exist with 400 naming the field", async () => {
    const res = await n.call("POST", "/v1/datasets", {
      token: w.admin,
      body: { id: "ds-x", title: "x", holder: "h", source: "file:///nonexistent/place", format: "csv" },
    });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("dataset.source_unreadable");
    expect(res.body.errors[0].path).toBe("source");
    expect((await n.call("GET", "/v1/datasets/ds-x", { token: w.admin })).status).toBe(404);
  });

  it.each([
    ["a system directory", () => "file:///etc"],
    ["the node's own key directory", () => pathToFileURL(join(n.dataDir, "keys")).href],
    [
      "a symlink inside the holder root pointing at the keys",
      () => {
        symlinkSync(join(n.dataDir, "keys"), join(n.dataDir, "holder", "sneaky"));
        return pathToFileURL(join(n.dataDir, "holder", "sneaky")).href;
      },
    ],
  ])("refuses a source in %s (400) and registers nothing", async (_, source) => {
    const res = await n.call("POST", "/v1/datasets", {
      token: w.admin,
      body: { id: "ds-bad", title: "x", holder: "h", source: source(), format: "csv" },
    });
    expect(res.status).toBe(400);
    expect(res.body.detail).toMatch(/outside the dataset roots/);
    expect((await n.call("GET", "/v1/datasets/ds-bad", { token: w.admin })).status).toBe(404);
  });

  it("lets only admins register datasets (403) and audits the refusal", async () => {
    const res = await n.call("POST", "/v1/datasets", {
      token: w.reviewer,
      body: { id: "ds-y", title: "y", holder: "h", source: datasetSource(n, "y"), format: "csv" },
    });
    expect(res.status).toBe(403);
    expect(await auditActions()).toContain("dataset.created:denied");
    expect((await n.call("GET", "/v1/datasets/ds-y", { token: w.admin })).status).toBe(404);
  });

  it("forbids auditors from reading datasets", async () => {
    expect((await n.call("GET", "/v1/datasets", { token: w.auditor })).status).toBe(403);
  });
});

describe("permits", () => {
  it("creates a permit with default limits and egress policy and an active status", async () => {
    const p = await n.call("GET", `/v1/permits/${w.permitId}`, { token: w.admin });
    expect(p.status).toBe(200);
    expect(p.body).toMatchObject({
      status: "active",
      limits: { maxConcurrentWorkspaces: 2, maxWorkspaceHours: 8, cpus: 1, memoryMiB: 2048 },
      egress: { minCellCount: 10, reviewersRequired: 1, maxFileBytes: 10485760 },
    });
    expect(p.body).not.toHaveProperty("adminState");
  });

  it("derives pending and expired from the clock", async () => {
    const future = permitBody(n, {
      id: "P-future",
      validFrom: new Date(n.clock.t + DAY).toISOString(),
      validUntil: new Date(n.clock.t + 2 * DAY).toISOString(),
    });
    expect((await n.call("POST", "/v1/permits", { token: w.admin, body: future })).body.status).toBe("pending");
    n.clock.advance(DAY + 1);
    expect((await n.call("GET", "/v1/permits/P-future", { token: w.admin })).body.status).toBe("active");
    n.clock.advance(DAY);
    expect((await n.call("GET", "/v1/permits/P-future", { token: w.admin })).body.status).toBe("expired");
  });

  it.each([
    ["an unknown dataset", { datasets: ["ds-nope"] }, "datasets"],
    ["validUntil before validFrom", { validUntil: "2020-01-01T00:00:00Z" }, "validUntil"],
    ["a PI who is not a researcher", { principalInvestigator: "zed" }, "principalInvestigator"],
    ["an unknown purpose", { purpose: "marketing" }, "purpose"],
    ["an unknown field (typo)", { purpse: "statistics" }, "(body)"],
    ["a bad limit", { limits: { maxWorkspaceHours: -1 } }, "limits.maxWorkspaceHours"],
  ])("refuses %s with 400 and creates nothing", async (_, overrides, path) => {
    const res = await n.call("POST", "/v1/permits", {
      token: w.admin,
      body: permitBody(n, { id: "P-bad", ...overrides }),
    });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    expect((await n.call("GET", "/v1/permits/P-bad", { token: w.admin })).status).toBe(404);
  });

  it("shows researchers only the permits naming them; another permit is a 404", async () => {
    await n.call("POST", "/v1/permits", {
      token: w.admin,
      body: permitBody(n, { id: "P-bob", researchers: ["bob"], principalInvestigator: "bob" }),
    });
    const mine = await n.call("GET", "/v1/permits", { token: w.alice });
    expect(mine.body.items.map((p: { id: string }) => p.id)).toEqual([w.permitId]);
    expect((await n.call("GET", "/v1/permits/P-bob", { token: w.alice })).status).toBe(404);
    expect((await n.call("GET", "/v1/permits/P-missing", { token: w.alice })).status).toBe(404);
    expect((await n.call("GET", "/v1/permits", { token: w.auditor })).body.items).toHaveLength(2);
  });

  it("suspends, reinstates and revokes; revoke is final", async () => {
    const s = await n.call("POST", `/v1/permits/${w.permitId}/suspend`, { token: w.admin, body: { reason: "audit" } });
    expect(s.body).toMatchObject({ status: "suspended", stateReason: "audit" });
    const r = await n.call("POST", `/v1/permits/${w.permitId}/reinstate`, { token: w.admin, body: {} });
    expect(r.body.status).toBe("active");
    const v = await n.call("POST", `/v1/permits/${w.permitId}/revoke`, { token: w.admin, body: { reason: "breach" } });
    expect(v.body.status).toBe("revoked");
    const again = await n.call("POST", `/v1/permits/${w.permitId}/reinstate`, { token: w.admin, body: {} });
    expect(again.status).toBe(409);
    expect((await n.call("GET", `/v1/permits/${w.permitId}`, { token: w.admin })).body.status).toBe("revoked");
  });

  it("requires a reason to suspend or revoke (400) and the admin role (403)", async () => {
    expect((await n.call("POST", `/v1/permits/${w.permitId}/revoke`, { token: w.admin, body: {} })).status).toBe(400);
    expect(
      (await n.call("POST", `/v1/permits/${w.permitId}/revoke`, { token: w.reviewer, body: { reason: "x" } })).status,
    ).toBe(403);
    expect((await n.call("GET", `/v1/permits/${w.permitId}`, { token: w.admin })).body.status).toBe("active");
  });

  it("answers 404 for an admin action on a permit that does not exist", async () => {
    const res = await n.call("POST", "/v1/permits/P-none/suspend", { token: w.admin, body: { reason: "x" } });
    expect(res.status).toBe(404);
  });

  it("replays a create with the same Idempotency-Key and refuses the key for another body", async () => {
    const body = permitBody(n, { id: "P-idem" });
    const headers = { "idempotency-key": "k-123" };
    const first = await n.call("POST", "/v1/permits", { token: w.admin, body, headers });
    const second = await n.call("POST", "/v1/permits", { token: w.admin, body, headers });
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.body).toEqual(first.body);
    const other = await n.call("POST", "/v1/permits", {
      token: w.admin,
      body: permitBody(n, { id: "P-idem-2" }),
      headers,
    });
    expect(other.status).toBe(409);
    expect(other.body.code).toBe("idempotency.key_reused");
    expect((await n.call("GET", "/v1/permits/P-idem-2", { token: w.admin })).status).toBe(404);
    const created = (await auditActions()).filter((a: string) => a === "permit.created:allowed");
    expect(created).toHaveLength(2); // the seeded permit and P-idem, once
  });
});

/**
 * Egress end to end on a real node: request (snapshot + checks), review with separation of duties and
 * N-of-M, downloads through short-lived count-capped links, release records, and what must not happen.
 */
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { createApp } from "@spe/api";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { launchReady, permitBody } from "../helpers/fixtures";
import { filesContaining, runJob } from "../helpers/jobs";
import { makeNode, type TestNode } from "../helpers/node";

let holder: string;
beforeAll(() => {
  holder = mkdtempSync(join(tmpdir(), "spe-egress-holder-"));
  mkdirSync(join(holder, "onc"));
  writeFileSync(join(holder, "onc", "registry.csv"), "patient_id,stage\nPT-EG-0001,II\nPT-EG-0002,III\n");
});
afterAll(() => rmSync(holder, { recursive: true, force: true }));

let n: TestNode;
let t: Record<"admin" | "alice" | "carol" | "rui" | "vera" | "aliceReviewer" | "auditor", string>;
let ws: string;
const PERMIT = "PT-EG-1";

async function setup(egress: Record<string, unknown> = {}) {
  const ds = await n.call("POST", "/v1/datasets", {
    token: t.admin,
    body: {
      id: "ds-onc",
      title: "Oncology",
      holder: "Registry",
      source: pathToFileURL(join(holder, "onc")).href,
      format: "csv",
      identifierColumns: ["patient_id"],
    },
  });
  expect(ds.status).toBe(201);
  const p = await n.call("POST", "/v1/permits", {
    token: t.admin,
    body: permitBody(n, { id: PERMIT, datasets: ["ds-onc"], egress }),
  });
  expect(p.status).toBe(201);
  ws = (await launchReady(n, t.alice, PERMIT)).id;
}

/** Writes files into outputs/ through a job (the only way a researcher can). */
async function writeOutputs(files: Record<string, string>) {
  for (const [name, content] of Object.entries(files)) {
    const b64 = Buffer.from(content).toString("base64");
    const job = await runJob(n, t.alice, ws, [
      "python3",
      "-c",
      `import base64,os;os.makedirs(os.path.dirname('outputs/${name}') or '.',exist_ok=True);open('outputs/${name}','wb').write(base64.b64decode('${b64}'))`,
    ]);
    expect(job.status).toBe("succeeded");
  }
}

const request = (files: string[], token = t.alice, justification = "Table 2 of the paper") =>
  n.call("POST", `/v1/workspaces/${ws}/egress-requests`, { token, body: { files, justification } });
const reviewAs = (token: string, id: string, decision: string, comment?: string) =>
  n.call("POST", `/v1/egress-requests/${id}/reviews`, { token, body: { decision, ...(comment ? { comment } : {}) } });
const count = async (status?: string) =>
  (await n.call("GET", `/v1/egress-requests${status ? `?status=${status}` : ""}`, { token: t.admin })).body.items
    .length as number;

beforeEach(async () => {
  n = makeNode({ sourceRoots: [holder] });
  t = {
    admin: await n.token("ana", "admin"),
    alice: await n.token("alice", "researcher"),
    carol: await n.token("carol", "researcher"),
    rui: await n.token("rui", "reviewer"),
    vera: await n.token("vera", "reviewer"),
    aliceReviewer: await n.token("alice", "researcher", "reviewer"),
    auditor: await n.token("otto", "auditor"),
  };
});
afterEach(() => n.dispose());

describe("requests", () => {
  it("snapshots and checks the named outputs: a passing table and a failing one, worst verdict wins", async () => {
    await setup();
    await writeOutputs({ "ok.csv": "group,n\na,25\nb,40\n", "small.csv": "group,n\na,25\nb,4\n" });
    const r = await request(["outputs/ok.csv", "outputs/small.csv"]);
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({
      workspaceId: ws,
      permitId: PERMIT,
      requester: "alice",
      status: "pending_review",
      verdict: "fail",
      reviews: [],
      files: [
        { path: "outputs/ok.csv", bytes: 18, verdict: "pass", findings: [] },
        {
          path: "outputs/small.csv",
          verdict: "fail",
          findings: [expect.objectContaining({ rule: "min_cell_count", severity: "fail" })],
        },
      ],
    });
    const sha = createHash("sha256").update("group,n\na,25\nb,40\n").digest("hex");
    expect(r.body.files[0].sha256).toBe(sha);
  });

  it.each([
    [["home/x.csv"], 400, "egress.not_an_output"],
    [["outputs/../home/x.csv"], 400, "file.invalid_path"],
    [["outputs/missing.csv"], 400, "egress.bad_file"],
    [["outputs/dir"], 400, "egress.bad_file"],
    [["outputs/link.csv"], 400, "egress.bad_file"],
    [["outputs/ok.csv", "outputs/ok.csv"], 400, "egress.duplicate_file"],
    [Array.from({ length: 51 }, (_, i) => `outputs/f${i}.csv`), 400, "request.invalid"],
    [["outputs/big.csv"], 413, "egress.file_too_large"],
  ])("refuses %j (%i %s) and creates nothing", async (files, status, code) => {
    await setup({ maxFileBytes: 100 });
    await writeOutputs({ "ok.csv": "group,n\na,25\n", "dir/inner.csv": "x\n", "big.csv": `${"x".repeat(200)}\n` });
    await runJob(n, t.alice, ws, ["ln", "-s", "/etc/hostname", "outputs/link.csv"]);
    const r = await request(files);
    expect([r.status, r.body.code]).toEqual([status, code]);
    expect(await count()).toBe(0);
    expect(await n.deps.objects.list(`permits/${PERMIT}/egress/`)).toEqual([]);
  });

  it("reviews the snapshot: editing the file afterwards changes nothing", async () => {
    await setup();
    await writeOutputs({ "t.csv": "group,n\na,25\n" });
    const r = (await request(["outputs/t.csv"])).body;
    await writeOutputs({ "t.csv": "group,n\na,1\n" });
    const content = await n.app.request(`/v1/egress-requests/${r.id}/files/0`, {
      headers: { authorization: `Bearer ${t.rui}` },
    });
    expect(await content.text()).toBe("group,n\na,25\n");
    expect(content.headers.get("content-type")).toBe("application/octet-stream");
  });

  it("lets the requester withdraw while pending; researchers see only their own requests", async () => {
    await setup();
    await writeOutputs({ "t.csv": "group,n\na,25\n" });
    const r = (await request(["outputs/t.csv"])).body;
    expect((await n.call("GET", `/v1/egress-requests/${r.id}`, { token: t.carol })).status).toBe(404);
    expect((await n.call("GET", "/v1/egress-requests", { token: t.carol })).body.items).toEqual([]);
    expect((await n.call("GET", `/v1/egress-requests/${r.id}/files/0`, { token: t.alice })).status).toBe(403);
    const w = await n.call("POST", `/v1/egress-requests/${r.id}/withdraw`, { token: t.alice });
    expect(w.body.status).toBe("withdrawn");
    expect((await reviewAs(t.rui, r.id, "approve")).body.code).toBe("egress.decided");
  });

  it("keeps pending requests when the workspace terminates, and can still request from its kept outputs", async () => {
    await setup();
    await writeOutputs({ "t.csv": "group,n\na,25\n", "later.csv": "group,n\nb,30\n" });
    const r = (await request(["outputs/t.csv"])).body;
    await n.call("DELETE", `/v1/workspaces/${ws}`, { token: t.alice });
    expect((await n.call("GET", `/v1/egress-requests/${r.id}`, { token: t.alice })).body.status).toBe("pending_review");
    const again = await request(["outputs/later.csv"]);
    expect(again.status).toBe(201);
    expect(again.body.files[0]).toMatchObject({ path: "outputs/later.csv", verdict: "pass" });
  });

  it("cancels open requests when the permit is revoked", async () => {
    await setup();
    await writeOutputs({ "t.csv": "group,n\na,25\n" });
    const r = (await request(["outputs/t.csv"])).body;
    await n.call("POST", `/v1/permits/${PERMIT}/revoke`, { token: t.admin, body: { reason: "breach" } });
    expect((await n.call("GET", `/v1/egress-requests/${r.id}`, { token: t.alice })).body.status).toBe("cancelled");
  });
});

describe("reviews", () => {
  it("refuses self-review whatever the roles, a second review by the same reviewer, and decided requests", async () => {
    await setup({ reviewersRequired: 2 });
    await writeOutputs({ "t.csv": "group,n\na,25\n" });
    const r = (await request(["outputs/t.csv"], t.aliceReviewer)).body;
    const self = await reviewAs(t.aliceReviewer, r.id, "approve");
    expect([self.status, self.body.code]).toEqual([403, "egress.self_review"]);
    expect((await reviewAs(t.rui, r.id, "approve")).body.status).toBe("pending_review");
    expect((await reviewAs(t.rui, r.id, "approve")).body.code).toBe("egress.already_reviewed");
    expect((await reviewAs(t.vera, r.id, "approve")).body.status).toBe("approved");
    expect((await reviewAs(t.admin, r.id, "approve")).status).toBe(403);
    const audit = await n.call("GET", `/v1/audit?action=egress.reviewed`, { token: t.auditor });
    expect(audit.body.items.map((x: { outcome: string }) => x.outcome)).toEqual([
      "denied", // self-review
      "allowed",
      "failed", // second review by rui
      "allowed",
      "denied", // an admin is not a reviewer
    ]);
  });

  it("needs comments to reject, to request changes and to approve a failing request (an override)", async () => {
    await setup();
    await writeOutputs({ "small.csv": "group,n\na,25\nb,4\n" });
    const r = (await request(["outputs/small.csv"])).body;
    for (const d of ["reject", "request_changes", "approve"]) {
      expect((await reviewAs(t.rui, r.id, d)).body.code).toBe("egress.comment_required");
    }
    const ok = await reviewAs(t.rui, r.id, "approve", "4 is a published national figure");
    expect(ok.body).toMatchObject({
      status: "approved",
      reviews: [{ reviewer: "rui", decision: "approve", override: true }],
    });
  });

  it("lets the first reject decide, and racing reviews produce exactly one decision", async () => {
    await setup({ reviewersRequired: 2 });
    await writeOutputs({ "t.csv": "group,n\na,25\n" });
    const r = (await request(["outputs/t.csv"])).body;
    const reviewers = await Promise.all(["r1", "r2", "r3", "r4"].map((s) => n.token(s, "reviewer")));
    const results = await Promise.all(
      reviewers.map((tok, i) => reviewAs(tok, r.id, i % 2 ? "reject" : "approve", "looked at it")),
    );
    const final = (await n.call("GET", `/v1/egress-requests/${r.id}`, { token: t.admin })).body;
    expect(["approved", "rejected"]).toContain(final.status);
    const decisive = final.reviews.filter((x: { decision: string }) => x.decision === "reject").length;
    expect(final.status === "rejected" ? decisive : 0).toBeLessThanOrEqual(1);
    expect(results.filter((x) => x.status === 200).length).toBe(final.reviews.length);
    expect(results.filter((x) => x.status === 409).length).toBe(4 - final.reviews.length);
  });
});

describe("downloads and release records", () => {
  it("serves exactly the approved bytes through links that expire and run out, each use audited", async () => {
    await setup();
    const content = "group,n\na,25\nb,40\n";
    await writeOutputs({ "t.csv": content });
    const r = (await request(["outputs/t.csv"])).body;
    expect((await n.call("POST", `/v1/egress-requests/${r.id}/downloads`, { token: t.alice })).status).toBe(409);
    await reviewAs(t.rui, r.id, "approve");
    expect((await n.call("POST", `/v1/egress-requests/${r.id}/downloads`, { token: t.carol })).status).toBe(404);
    const links = await n.call("POST", `/v1/egress-requests/${r.id}/downloads`, { token: t.alice });
    expect(links.status).toBe(201);
    const url = new URL(links.body.files[0].url);
    for (let i = 0; i < 3; i++) {
      const res = await n.app.request(url.pathname);
      const bytes = Buffer.from(await res.arrayBuffer());
      expect(res.status).toBe(200);
      expect(createHash("sha256").update(bytes).digest("hex")).toBe(r.files[0].sha256);
    }
    const spent = await n.app.request(url.pathname);
    expect(spent.status).toBe(410);
    expect(((await spent.json()) as { code: string }).code).toBe("download.used_up");
    const fresh = await n.call("POST", `/v1/egress-requests/${r.id}/downloads`, { token: t.alice });
    n.clock.advance(16 * 60_000);
    const late = await n.app.request(new URL(fresh.body.files[0].url).pathname);
    expect(late.status).toBe(410);
    expect((await n.app.request(`${url.pathname}x`)).status).toBe(404);
    const audit = await n.call("GET", "/v1/audit?action=egress.downloaded", { token: t.auditor });
    expect(audit.body.items.map((x: { outcome: string }) => x.outcome)).toEqual([
      "allowed",
      "allowed",
      "allowed",
      "denied",
      "denied",
    ]);
  });

  it("redirects a link to the offloaded copy when the deployment offloads downloads (AWS: presigned GET)", async () => {
    await setup();
    const content = "group,n\na,25\nb,40\n";
    await writeOutputs({ "t.csv": content });
    const r = (await request(["outputs/t.csv"])).body;
    await reviewAs(t.rui, r.id, "approve");
    const offloaded: { grantId: string; permitId: string; sha256: string; text: string }[] = [];
    const app = createApp({
      ...n.deps,
      offloadDownload: async (f) => {
        const chunks: Uint8Array[] = [];
        for await (const c of f.body) chunks.push(c);
        offloaded.push({ ...f, text: Buffer.concat(chunks).toString() });
        return `https://bucket.example/${f.grantId}?X-Amz-Expires=60`;
      },
    });
    const links = await n.call("POST", `/v1/egress-requests/${r.id}/downloads`, { token: t.alice });
    const url = new URL(links.body.files[0].url);
    const res = await app.request(url.pathname);
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toMatch(/^https:\/\/bucket\.example\/dl-/);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(offloaded).toMatchObject([{ permitId: PERMIT, sha256: r.files[0].sha256, text: content }]);
    // The use was spent and audited like a streamed download; a wrong secret offloads nothing.
    expect((await app.request(`${url.pathname}x`)).status).toBe(404);
    expect(offloaded).toHaveLength(1);
    const audit = await n.call("GET", "/v1/audit?action=egress.downloaded", { token: t.auditor });
    expect(audit.body.items).toMatchObject([{ outcome: "allowed", details: { usesLeft: 2 } }]);
  });

  it("gives admins and auditors a Five Safes RO-Crate of the release", async () => {
    await setup();
    await writeOutputs({ "t.csv": "group,n\na,25\n" });
    const r = (await request(["outputs/t.csv"])).body;
    await reviewAs(t.rui, r.id, "approve");
    expect((await n.call("GET", `/v1/egress-requests/${r.id}/release-record`, { token: t.alice })).status).toBe(403);
    const crate = (await n.call("GET", `/v1/egress-requests/${r.id}/release-record`, { token: t.auditor })).body;
    const graph = crate["@graph"] as Record<string, unknown>[];
    expect(graph[0]).toMatchObject({ "@id": "ro-crate-metadata.json" });
    expect(graph.find((x) => x["@id"] === "outputs/t.csv")).toMatchObject({ sha256: r.files[0].sha256 });
    expect(graph.find((x) => x["@type"] === "AssessAction")).toMatchObject({ name: "approve" });
    // It holds no data: it outlives the permit and the crypto-shredding of everything else.
    await n.call("POST", `/v1/permits/${PERMIT}/revoke`, { token: t.admin, body: { reason: "closed" } });
    expect(await n.deps.objects.list(`permits/${PERMIT}/`)).toEqual([]);
    const after = await n.call("GET", `/v1/egress-requests/${r.id}/release-record`, { token: t.auditor });
    expect(after.status).toBe(200);
    expect(after.body).toEqual(crate);
  });

  it("never puts output content into the audit trail or the logs", async () => {
    const lines: string[] = [];
    await n.dispose();
    n = makeNode({ sourceRoots: [holder], log: (l) => lines.push(JSON.stringify(l)) });
    t.admin = await n.token("ana", "admin");
    t.alice = await n.token("alice", "researcher");
    t.rui = await n.token("rui", "reviewer");
    t.auditor = await n.token("otto", "auditor");
    await setup();
    const MARKER = "UNIQUE-MARKER-7Q3X";
    await writeOutputs({ "notes.txt": `result ${MARKER} ana.silva@example.pt\n` });
    const r = (await request(["outputs/notes.txt"])).body;
    await reviewAs(t.rui, r.id, "reject", "contains an e-mail address");
    const audit = await n.call("GET", "/v1/audit?limit=500", { token: t.auditor });
    expect(JSON.stringify(audit.body)).not.toContain(MARKER);
    expect(JSON.stringify(audit.body)).not.toContain("ana.silva");
    expect(JSON.stringify(r)).not.toContain("ana.silva"); // findings name the rule, not the value
    expect(lines.join("\n")).not.toContain(MARKER);
    // A download link is a credential: the request log names the route, never the link's secret.
    await writeOutputs({ "ok.csv": "group,n\na,25\n" });
    const ok = (await request(["outputs/ok.csv"])).body;
    await reviewAs(t.rui, ok.id, "approve");
    const link = new URL(
      (await n.call("POST", `/v1/egress-requests/${ok.id}/downloads`, { token: t.alice })).body.files[0].url,
    );
    expect((await n.app.request(link.pathname)).status).toBe(200);
    const secret = link.pathname.split("/").at(-1) as string;
    expect(lines.some((l) => l.includes("/dl/"))).toBe(true);
    expect(lines.join("\n")).not.toContain(secret);
    expect(filesContaining([n.dataDir], [MARKER])).toEqual([]);
  });
});

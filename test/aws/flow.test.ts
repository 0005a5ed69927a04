/**
 * The whole life of a permit on the AWS adapters, end to end, through the HTTP API as the API Lambda
 * serves it (functions/api.ts) and the other functions' logic (provision, task-events, sweep, seal, archive):
 * an `s3://` dataset and a permit (a KMS key), a launch (the provision invoke), staging and the workspace
 * area, code upload, a job run by the real agent in a temporary /workspace (as the task's container would),
 * its STOPPED event and log, egress with review and a presigned download, termination with a job still
 * running, revocation with crypto-shredding, and the audit chain sealed with KMS, verified and archived.
 */
import { createHash } from "node:crypto";
import {
  ARCHIVE_CHAIN_PREFIX,
  ARCHIVE_SEALS_PREFIX,
  assembleArchive,
  sealHead,
  verifyLog,
  verifyRecords,
} from "@spe/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jobSpecKey, workspaceMarkerKey } from "../../packages/aws/src/agent/protocol";
import { archiveBatch } from "../../packages/aws/src/audit-archiver";
import { LocalDynamo } from "../../packages/aws/src/dynalite-harness";
import { type ApiCall, apiCaller } from "./support/api";
import { auditRecords } from "./support/fault-table";
import { DATASET, HOLDER_FILES, PERMIT, permitBody, runProvisioner, seedHolder } from "./support/flow";
import { problems } from "./support/invariants";
import { deliverStopped, jobOfTask, runContainer, runningTasks, stopTask, taskEventsHandler } from "./support/tasks";
import { AwsWorld, BUCKETS } from "./support/world";

const asRoot = process.getuid?.() === 0;
const OUTPUT = "stage,patients\nII,12\nIII,15\n";
const ANALYSIS = [
  "set -e",
  "n=$(tail -n +2 data/ds-oncology/patients.csv | wc -l)",
  'echo "rows: $n"',
  "echo 'working' >&2",
  `printf '${OUTPUT.replace(/\n/g, "\\n")}' > outputs/by-stage.csv`,
  "",
].join("\n");

let dynamo: LocalDynamo;
let w: AwsWorld;
let app: ReturnType<AwsWorld["app"]>;
let call: ApiCall;
beforeAll(async () => {
  dynamo = await LocalDynamo.start();
  w = await AwsWorld.create(dynamo);
  app = w.app();
  call = apiCaller(w, app);
});
afterAll(() => dynamo.close());

const text = (b: Uint8Array | undefined) => Buffer.from(b ?? []).toString("utf8");
const sha = (s: string) => createHash("sha256").update(s).digest("hex");

describe("a permit's life on AWS, through the API and the functions", () => {
  let workspaceId = "";
  let prefix = "";
  let jobId = "";
  let egressId = "";
  let downloadKey = "";

  it("registers an s3:// dataset and a permit, whose KMS key and alias are created", async () => {
    seedHolder(w);
    const ds = await call("POST", "/v1/datasets", {
      as: "admin",
      body: {
        id: DATASET,
        title: "Oncology registry 2024",
        holder: "Registo Oncológico",
        source: `s3://${BUCKETS.holder}/oncology/2024`,
        format: "csv",
        identifierColumns: ["patient_id"],
      },
    });
    expect(ds.status).toBe(201);
    const elsewhere = await call("POST", "/v1/datasets", {
      as: "admin",
      body: { id: "ds-x", title: "x", holder: "x", source: `s3://${BUCKETS.staging}/permits`, format: "csv" },
    });
    expect([elsewhere.status, elsewhere.body.code]).toEqual([400, "dataset.source_unreadable"]);

    const p = await call("POST", "/v1/permits", {
      as: "admin",
      body: permitBody(w),
    });
    expect([p.status, p.body.status]).toEqual([201, "active"]);
    const key = w.kms.describe(`alias/spe-test/permit/${PERMIT}`);
    expect(key).toMatchObject({ state: "Enabled" });
    const created = w.kms.keys().find((k) => k.arn === key?.arn);
    expect(created?.tags).toEqual({ "spe:permit": PERMIT, "spe:stage": "test" });
    // Created with its own policy naming the deployment's function roles (SPE_PERMIT_KEY_PRINCIPALS).
    expect(created?.policy?.Statement.map((s) => s.Sid)).toContain("KeyAdminsGrantToTaskRoles");
    expect(JSON.stringify(created?.policy)).toContain(`role/spe-test-fn-task-events`);
  });

  it("launches: the API answers 202 provisioning, schedules expiry and invokes the provision function", async () => {
    const res = await call("POST", `/v1/permits/${PERMIT}/workspaces`, { as: "alice", body: { hours: 2 }, key: "k-1" });
    expect([res.status, res.body.status, res.body.isolation]).toEqual([202, "provisioning", "fargate"]);
    workspaceId = res.body.id;
    prefix = `permits/${PERMIT}/workspaces/${workspaceId}/`;
    expect(w.lambda.queued).toEqual([
      { functionName: "spe-test-provision", payload: { type: "workspace.provision", workspaceId } },
    ]);
    const schedule = [...w.scheduler.schedules.values()][0];
    expect(schedule).toMatchObject({
      Name: `test-${workspaceId}`,
      GroupName: "spe-test",
      ScheduleExpression: `at(${res.body.expiresAt.slice(0, 19)})`,
      ActionAfterCompletion: "DELETE",
    });
    expect(JSON.parse(schedule?.Target?.Input ?? "")).toEqual({ workspaceId });
    // The same request again (same Idempotency-Key) is the same workspace, not a second one.
    const again = await call("POST", `/v1/permits/${PERMIT}/workspaces`, {
      as: "alice",
      body: { hours: 2 },
      key: "k-1",
    });
    expect(again.body.id).toBe(workspaceId);
    expect(w.lambda.queued).toHaveLength(1);
  });

  it("provisions: staged encrypted and pseudonymised, the area holds data/ and the task role has a grant", async () => {
    expect(await runProvisioner(w)).toEqual([{ workspaceId }]);
    const ws = await call("GET", `/v1/workspaces/${workspaceId}`, { as: "alice" });
    expect(ws.body.status).toBe("ready");
    expect(ws.body.manifest.map((f: { path: string }) => f.path)).toEqual([
      "ds-oncology/patients.csv",
      "ds-oncology/visits/q1.csv",
    ]);
    const permitKey = w.kms.describe(w.a.keys.permitKeyAliasArn(PERMIT))?.arn;
    const staged = w.s3.objects(BUCKETS.staging, prefix);
    expect(staged.map((o) => o.key.slice(prefix.length))).toEqual([
      "identifiers",
      "staging/ds-oncology/patients.csv",
      "staging/ds-oncology/visits/q1.csv",
    ]);
    for (const o of staged) {
      expect(o.encryption).toMatchObject({ ServerSideEncryption: "aws:kms", SSEKMSKeyId: permitKey });
      expect(text(w.s3.body(BUCKETS.staging, o.key))).not.toMatch(/P-100|stage/); // ciphertext
    }
    // The task reads data/ in the clear (SSE-KMS under the permit key), identifiers pseudonymised.
    const data = text(w.s3.body(BUCKETS.workspaces, `${prefix}data/ds-oncology/patients.csv`));
    expect(data.split("\n")[0]).toBe("patient_id,stage,age");
    expect(data).not.toContain("P-1001");
    expect(data.split("\n")).toHaveLength(5);
    expect(w.s3.objects(BUCKETS.workspaces, workspaceMarkerKey(prefix))).toHaveLength(1);
    const [role] = [...w.iam.roles.values()];
    expect(role?.boundary).toBe(w.config.SPE_TASK_ROLE_BOUNDARY_ARN);
    const grants = w.kms.keys().flatMap((k) => k.grants.map((g) => ({ key: k.arn, name: g.name, who: g.grantee })));
    expect(grants).toEqual([{ key: permitKey, name: `ws-${workspaceId}`, who: role?.arn }]);
  });

  it("uploads code and runs a job: RunTask carries no argv, the agent runs it and the STOPPED event ends it", async () => {
    const up = await call("PUT", `/v1/workspaces/${workspaceId}/files/home/analysis.sh`, {
      as: "alice",
      raw: new TextEncoder().encode(ANALYSIS),
    });
    expect([up.status, up.body.sha256]).toEqual([201, sha(ANALYSIS)]);
    const sub = await call("POST", `/v1/workspaces/${workspaceId}/jobs`, {
      as: "alice",
      body: { command: ["sh", "home/analysis.sh"], timeoutSeconds: 600 },
    });
    expect([sub.status, sub.body.status]).toEqual([202, "running"]);
    jobId = sub.body.id;
    const [task] = runningTasks(w);
    expect(task && jobOfTask(task)).toBe(jobId);
    expect(JSON.stringify(task?.input)).not.toContain("analysis.sh"); // the argv is in the bucket only
    expect(task?.input).toMatchObject({
      launchType: "FARGATE",
      startedBy: workspaceId,
      clientToken: jobId,
      networkConfiguration: { awsvpcConfiguration: { assignPublicIp: "DISABLED" } },
    });
    const spec = JSON.parse(text(w.s3.body(BUCKETS.workspaces, jobSpecKey(prefix, jobId))));
    expect(spec.command).toEqual(["sh", "home/analysis.sh"]);

    // The container: the agent, as root, runs the job as an unprivileged user (when this test is root).
    const ran = await runContainer(w, task as NonNullable<typeof task>, { asJobUser: asRoot });
    expect(ran.exitCode).toBe(0);
    expect(await taskEventsHandler(w, stopTask(w, task as NonNullable<typeof task>, ran.exitCode, ran.lines))).toEqual({
      jobId,
    });
    const job = await call("GET", `/v1/workspaces/${workspaceId}/jobs/${jobId}`, { as: "alice" });
    expect(job.body).toMatchObject({ status: "succeeded", exitCode: 0, stdout: "rows: 3\n", stderr: "working\n" });
    expect(w.logs.streams.size).toBe(0); // the plaintext log in CloudWatch is gone once stored encrypted
    expect(text(w.s3.body(BUCKETS.staging, `${prefix}jobs/${jobId}/stdout`))).not.toContain("rows");
    const outputs = await call("GET", `/v1/workspaces/${workspaceId}/files?dir=outputs`, { as: "alice" });
    expect(outputs.body.items).toEqual([{ path: "outputs/by-stage.csv", bytes: OUTPUT.length, sha256: sha(OUTPUT) }]);
  });

  it("egress: a snapshot in quarantine that later changes cannot alter; approval; a presigned download", async () => {
    const req = await call("POST", `/v1/workspaces/${workspaceId}/egress-requests`, {
      as: "alice",
      body: { files: ["outputs/by-stage.csv"], justification: "Table 2 of the paper" },
    });
    expect([req.status, req.body.status, req.body.files[0].sha256]).toEqual([201, "pending_review", sha(OUTPUT)]);
    egressId = req.body.id;
    const snapshot = `permits/${PERMIT}/egress/${egressId}/snapshot/0`;
    expect(text(w.s3.body(BUCKETS.quarantine, snapshot))).not.toContain("III,15");
    // The file changes in the workspace after the request: what is reviewed and released does not.
    w.s3.view(BUCKETS.workspaces).seed(`${prefix}outputs/by-stage.csv`, "stage,patients\nII,1\n");
    expect(
      (await call("POST", `/v1/egress-requests/${egressId}/reviews`, { as: "alice", body: { decision: "approve" } }))
        .status,
    ).toBe(403);
    const review = await call("POST", `/v1/egress-requests/${egressId}/reviews`, {
      as: "reviewer",
      body: { decision: "approve" },
    });
    expect([review.status, review.body.status]).toEqual([200, "approved"]);
    expect(w.s3.objects(BUCKETS.releases, `permits/${PERMIT}/egress/${egressId}/`)).toHaveLength(1);

    const links = await call("POST", `/v1/egress-requests/${egressId}/downloads`, { as: "alice" });
    expect(links.status).toBe(201);
    const res = await app.request(links.body.files[0].url);
    expect([res.status, res.headers.get("cache-control")]).toEqual([302, "no-store"]);
    const url = new URL(res.headers.get("location") ?? "");
    expect(url.host).toBe(`${BUCKETS.releases}.s3.eu-central-1.amazonaws.com`);
    expect(url.searchParams.get("X-Amz-Expires")).toBe("60");
    expect(url.searchParams.get("X-Amz-Signature")).toMatch(/^[0-9a-f]{64}$/);
    downloadKey = decodeURIComponent(url.pathname.slice(1));
    expect(downloadKey).toMatch(/^downloads\/dl-/);
    expect(text(await w.s3.fetch(BUCKETS.releases, downloadKey))).toBe(OUTPUT);
    const [copy] = w.s3.objects(BUCKETS.releases, downloadKey);
    expect(copy?.encryption.SSEKMSKeyId).toBe(w.kms.describe(w.a.keys.permitKeyAliasArn(PERMIT))?.arn);
    expect(copy?.metadata).toEqual({ sha256: sha(OUTPUT) });
  });

  it("terminates with a job still running: task stopped, job cancelled, outputs kept, everything else gone", async () => {
    const long = await call("POST", `/v1/workspaces/${workspaceId}/jobs`, {
      as: "alice",
      body: { command: ["sleep", "3600"] },
    });
    expect(long.body.status).toBe("running");
    const del = await call("DELETE", `/v1/workspaces/${workspaceId}`, { as: "alice" });
    expect([del.status, del.body.status, del.body.terminationReason]).toEqual([202, "terminated", "user"]);
    expect([...w.ecs.tasks.values()].map((t) => t.desiredStatus)).toEqual(["STOPPED", "STOPPED"]);
    await deliverStopped(w); // its STOPPED event arrives after the workspace ended: nothing changes
    const job = await call("GET", `/v1/workspaces/${workspaceId}/jobs/${long.body.id}`, { as: "alice" });
    expect(job.body).toMatchObject({ status: "cancelled", reason: "the workspace was terminated" });
    expect(w.s3.versions(BUCKETS.workspaces, prefix)).toEqual([]);
    expect(w.s3.versions(BUCKETS.staging, `${prefix}staging/`)).toEqual([]);
    expect(w.s3.objects(BUCKETS.outputs, prefix).map((o) => o.key.slice(prefix.length))).toEqual([
      "outputs/by-stage.csv",
    ]);
    expect(w.kms.keys().flatMap((k) => k.grants)).toEqual([]);
    expect(w.scheduler.names()).toEqual([]);
    expect(await problems(w, { settled: true })).toEqual([]);
  });

  it("revokes the permit: its key is scheduled for deletion and every object of it is gone", async () => {
    const res = await call("POST", `/v1/permits/${PERMIT}/revoke`, {
      as: "admin",
      body: { reason: "ethics withdrawn" },
    });
    expect([res.status, res.body.status, typeof res.body.keyDestroyedAt]).toEqual([200, "revoked", "string"]);
    const key = w.kms.keys().find((k) => k.tags["spe:permit"] === PERMIT);
    expect(key?.state).toBe("PendingDeletion");
    expect(w.kms.aliases()).toEqual({});
    expect([...w.iam.roles.keys()]).toEqual([]); // the permit's task role is deleted with its data
    for (const bucket of [BUCKETS.staging, BUCKETS.outputs, BUCKETS.quarantine, BUCKETS.releases, BUCKETS.workspaces]) {
      expect(w.s3.versions(bucket, `permits/${PERMIT}/`)).toEqual([]);
    }
    // The one-time download copy expires by lifecycle; meanwhile its key cannot decrypt it.
    await expect(w.s3.fetch(BUCKETS.releases, downloadKey)).rejects.toMatchObject({
      name: "KMS.KMSInvalidStateException",
    });
    const link = await call("POST", `/v1/egress-requests/${egressId}/downloads`, { as: "alice" });
    expect(link.status).toBe(409);
    expect(await problems(w, { settled: true })).toEqual([]);
    expect(w.s3.objects(BUCKETS.holder)).toHaveLength(Object.keys(HOLDER_FILES).length);
  });

  it("seals the audit chain with the KMS key, verifies it, and archives it verifiably from its stream", async () => {
    const seal = await sealHead({ audit: w.a.store, signer: w.a.signer, clock: w.clock });
    expect(seal?.keyId).toBe(w.auditKeyArn);
    const verified = await call("GET", "/v1/audit/verify", { as: "auditor" });
    expect(verified.body).toMatchObject({ ok: true });
    expect(await verifyLog(w.a.store, w.a.signer)).toMatchObject({ ok: true, sealed: { count: seal?.count } });

    const records = await auditRecords(w);
    const actions = records.map((r) => r.action);
    for (const a of [
      "permit.created",
      "workspace.ready",
      "job.finished",
      "egress.downloaded",
      "permit.key_destroyed",
    ]) {
      expect(actions).toContain(a);
    }
    // No health data, no code, no job output or file content in the trail (names, hashes and sizes only).
    const bodies = JSON.stringify(records);
    for (const secret of ["P-1001", "III,15", "tail -n", "rows: 3", "sleep"]) expect(bodies).not.toContain(secret);

    // The archive function gets the table's new images from its stream.
    const stream = (await w.items()).map((image) => ({ eventName: "INSERT", dynamodb: { NewImage: image } }));
    const archived = await archiveBatch(w.s3.client, BUCKETS.audit, stream);
    expect(archived).toMatchObject({ records: records.length, seals: 1 });
    const read = (p: string) =>
      w.s3.objects(BUCKETS.audit, p).map((o) => ({ name: o.key, text: text(w.s3.body(BUCKETS.audit, o.key)) }));
    const fromArchive = assembleArchive(read(ARCHIVE_CHAIN_PREFIX), read(ARCHIVE_SEALS_PREFIX));
    expect(fromArchive.problems).toEqual([]);
    expect(await verifyRecords(fromArchive.records, fromArchive.seals, w.a.signer)).toMatchObject({
      ok: true,
      count: records.length,
    });
  });
});

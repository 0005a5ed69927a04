import { createHash } from "node:crypto";
import { CreateMultipartUploadCommand } from "@aws-sdk/client-s3";
import { DomainError, UnavailableError, type WorkspaceSpec } from "@spe/core";
import { describe, expect, it } from "vitest";
import { workspaceMarkerKey } from "./agent/protocol";
import { ACCOUNT, BOUNDARY, BUCKET, iamThrottling, staged, testRuntime } from "./ecs-runtime.test-support";
import { s3Error, slowDown } from "./testing/faults";

const P = "p-onc";
const W = "ws-01abc";
const PREFIX = `permits/${P}/workspaces/${W}/`;
const spec = (over: Partial<WorkspaceSpec> = {}): WorkspaceSpec => ({
  workspaceId: W,
  permitId: P,
  owner: "u-1",
  expiresAt: "2026-03-02T10:00:00Z",
  limits: { cpus: 2, memoryMiB: 4096 },
  ...over,
});
const hex = (s: string | Buffer) => createHash("sha256").update(s).digest("hex");

describe("EcsRuntime.start", () => {
  it("creates the permit's task role: bounded, assumable only by this account's ECS tasks, scoped to the permit", async () => {
    const { runtime, iam, keys, workspaces } = testRuntime();
    workspaces.set(W, P);
    await runtime.start(spec(), []);
    const role = iam.roles.get("spe-test-permit-p-onc")!;
    expect(role).toMatchObject({ path: "/spe/test/", boundary: BOUNDARY });
    expect(JSON.parse(role.trust)).toEqual({
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Principal: { Service: "ecs-tasks.amazonaws.com" },
          Action: "sts:AssumeRole",
          Condition: {
            StringEquals: { "aws:SourceAccount": ACCOUNT },
            ArnLike: { "aws:SourceArn": `arn:aws:ecs:eu-central-1:${ACCOUNT}:*` },
          },
        },
      ],
    });
    const policy = JSON.parse(role.policies.get("spe-workspace-areas")!);
    const ws = `arn:aws:s3:::${BUCKET}/permits/${P}/workspaces/`;
    expect(policy.Statement).toEqual([
      { Sid: "ReadWorkspaces", Effect: "Allow", Action: "s3:GetObject", Resource: `${ws}*` },
      {
        Sid: "WriteWorkAreas",
        Effect: "Allow",
        Action: ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
        Resource: [`${ws}*/home/*`, `${ws}*/outputs/*`],
      },
      {
        Sid: "ListWorkspaces",
        Effect: "Allow",
        Action: "s3:ListBucket",
        Resource: `arn:aws:s3:::${BUCKET}`,
        Condition: { StringLike: { "s3:prefix": [`permits/${P}/workspaces/*`] } },
      },
    ]);
    // nothing grants data/ writes or another permit's objects
    expect(JSON.stringify(policy)).not.toMatch(/data\/|permits\/\*/);
    expect(keys.grants.get(`${P}/${W}`)).toBe(role.arn);
  });

  it("reuses the role for the permit's next workspace (EntityAlreadyExists) and grants each workspace", async () => {
    const { runtime, iam, keys, workspaces } = testRuntime();
    workspaces.set(W, P).set("ws-02def", P);
    await runtime.start(spec(), []);
    await runtime.start(spec({ workspaceId: "ws-02def" }), []);
    expect(iam.roles.size).toBe(1);
    expect(iam.faults.count("CreateRole")).toBe(2);
    expect(iam.faults.count("GetRole")).toBe(1);
    expect([...keys.grants.keys()].sort()).toEqual([`${P}/${W}`, `${P}/ws-02def`]);
  });

  it("refuses to adopt a role of that name made without the workspace boundary", async () => {
    const { runtime, iam, keys } = testRuntime();
    iam.roles.set("spe-test-permit-p-onc", {
      arn: `arn:aws:iam::${ACCOUNT}:role/spe/test/spe-test-permit-p-onc`,
      path: "/spe/test/",
      trust: "{}",
      policies: new Map(),
    });
    await expect(runtime.start(spec(), [])).rejects.toThrow(/refusing to use IAM role spe-test-permit-p-onc/);
    expect(keys.grants.size).toBe(0);
    expect(iam.faults.count("PutRolePolicy")).toBe(0);
  });

  it("adopts an existing role only with this permit's tag, the boundary, the path and exactly our trust policy", async () => {
    const { runtime, iam, keys } = testRuntime();
    // Made by someone else under our name and path, with the boundary, but trusting another account.
    iam.roles.set("spe-test-permit-p-onc", {
      arn: `arn:aws:iam::${ACCOUNT}:role/spe/test/spe-test-permit-p-onc`,
      path: "/spe/test/",
      boundary: BOUNDARY,
      trust: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          { Effect: "Allow", Principal: { AWS: "arn:aws:iam::999999999999:root" }, Action: "sts:AssumeRole" },
        ],
      }),
      policies: new Map(),
      tags: [{ Key: "spe:permit", Value: P }],
    });
    await expect(runtime.start(spec(), [])).rejects.toThrow(/refusing to use IAM role spe-test-permit-p-onc/);
    expect(keys.grants.size).toBe(0);
    expect(iam.faults.count("PutRolePolicy")).toBe(0);
  });

  it("never gives two permits the same role name (a plain id cannot imitate a hashed one)", async () => {
    const { taskRoleName } = await import("./task-role");
    const hashed = taskRoleName("prod", "Cohort-A");
    const suffix = hashed.slice(hashed.lastIndexOf("-") + 1);
    expect(taskRoleName("prod", `cohort-a-${suffix}`).toLowerCase()).not.toBe(hashed.toLowerCase());
    expect(hashed).toMatch(/^spe-prod-permit_cohort-a-[0-9a-f]{12}$/);
  });

  it("gives permits with capitals or long ids distinct role names within IAM's 64 characters", async () => {
    const { runtime, iam, workspaces } = testRuntime();
    const long = `P-${"x".repeat(100)}`;
    workspaces.set(W, "P-1").set("ws-02def", "p-1").set("ws-03ghi", long);
    await runtime.start(spec({ permitId: "P-1" }), []);
    await runtime.start(spec({ workspaceId: "ws-02def", permitId: "p-1" }), []);
    await runtime.start(spec({ workspaceId: "ws-03ghi", permitId: long }), []);
    const names = [...iam.roles.keys()];
    expect(new Set(names.map((n) => n.toLowerCase())).size).toBe(3);
    for (const n of names) expect(n.length).toBeLessThanOrEqual(64);
  });

  it("streams every staged file under data/, encrypted under the permit key, with its SHA-256", async () => {
    const { runtime, s3, keys } = testRuntime();
    const small = staged("ds-1/patients.csv", "id,age\np1,40\n");
    const big = staged("ds-2/scan.bin", { bytes: 40 * 1024 * 1024 });
    let chunksReadAtFirstPart = -1;
    s3.faults.observe((command) => {
      if (command === "UploadPart" && chunksReadAtFirstPart < 0) chunksReadAtFirstPart = big.reads.perOpen.at(-1)!;
    });
    await runtime.start(spec(), [small.file, big.file]);
    const objects = s3.objects(`${PREFIX}data/`);
    expect(objects.map((o) => o.key)).toEqual([`${PREFIX}data/ds-1/patients.csv`, `${PREFIX}data/ds-2/scan.bin`]);
    for (const o of objects) {
      expect(o.kmsKeyId).toBe(keys.permitKeyAliasArn(P));
      expect(o.metadata.sha256).toBe(hex(o.body!));
    }
    expect(objects[1]!.body!.length).toBe(40 * 1024 * 1024);
    // bounded memory: one pass hashes, the upload pass sent its first part long before its 40 chunks were read
    expect(big.reads.perOpen).toEqual([40, 40]);
    expect(chunksReadAtFirstPart).toBeGreaterThan(0);
    expect(chunksReadAtFirstPart).toBeLessThan(40);
    expect(s3.uploads()).toEqual([]);
    expect(JSON.parse(s3.text(workspaceMarkerKey(PREFIX))!)).toMatchObject({ permitId: P, cpus: 2 });
  });

  it("is idempotent: starting again uploads no unchanged file and removes data/ files no longer staged", async () => {
    const { runtime, s3 } = testRuntime();
    const a = staged("ds-1/a.csv", "a\n");
    const b = staged("ds-1/b.csv", "b\n");
    await runtime.start(spec(), [a.file, b.file]);
    const puts = s3.faults.count("PutObject");
    await runtime.start(spec(), [a.file]);
    expect(s3.faults.count("PutObject") - puts).toBe(1); // the marker only
    expect(s3.objects(`${PREFIX}data/`).map((o) => o.key)).toEqual([`${PREFIX}data/ds-1/a.csv`]);
  });

  it("leaves nothing when an upload fails midway (no object, version, upload or grant), and a retry completes", async () => {
    const { runtime, s3, keys, iam } = testRuntime();
    const files = [staged("ds-1/a.csv", "a\n"), staged("ds-1/b.csv", "b\n"), staged("ds-2/c.bin", { bytes: 20 << 20 })];
    s3.faults.fail("UploadPart", () => s3Error("AccessDenied", 403, "Access Denied"), { skip: 1 });
    await expect(
      runtime.start(
        spec(),
        files.map((f) => f.file),
      ),
    ).rejects.toThrow("Access Denied");
    expect(s3.allVersions(PREFIX)).toEqual([]);
    expect(s3.uploads()).toEqual([]);
    expect(keys.grants.size).toBe(0);
    expect(keys.retired).toEqual([`${P}/${W}`]);
    expect(await runtime.exists(W)).toBe(false);
    // the per-permit role stays (shared; useless without a grant)
    expect(iam.roles.size).toBe(1);

    await runtime.start(
      spec(),
      files.map((f) => f.file),
    );
    expect(s3.objects(`${PREFIX}data/`)).toHaveLength(3);
    expect(keys.grants.size).toBe(1);
  });

  it("undoes itself when the grant fails after the role was created", async () => {
    const { runtime, s3, keys } = testRuntime();
    keys.failGrant = new Error("KMS LimitExceededException");
    await expect(runtime.start(spec(), [staged("ds-1/a.csv", "a\n").file])).rejects.toThrow("LimitExceeded");
    expect(s3.allVersions(PREFIX)).toEqual([]);
    expect(keys.retired).toEqual([`${P}/${W}`]);
  });

  it("does not wipe a workspace that was already up when a later start fails", async () => {
    const { runtime, s3, keys } = testRuntime();
    await runtime.start(spec(), [staged("ds-1/a.csv", "a\n").file]);
    s3.seed(`${PREFIX}home/work.py`, "print(1)\n");
    s3.faults.fail("PutObject", () => s3Error("AccessDenied", 403, "Access Denied"));
    await expect(runtime.start(spec(), [staged("ds-1/a.csv", "changed\n").file])).rejects.toThrow();
    expect(s3.text(`${PREFIX}home/work.py`)).toBe("print(1)\n");
    expect(keys.retired).toEqual([]);
  });

  it("retries throttled CreateRole and PutObject, and surfaces throttling that persists as a 503", async () => {
    const { runtime, s3, iam, sleeps } = testRuntime();
    iam.faults.fail("CreateRole", iamThrottling, { times: 2 });
    s3.faults.fail("PutObject", slowDown, { times: 2 });
    await runtime.start(spec(), [staged("ds-1/a.csv", "a\n").file]);
    expect(iam.faults.count("CreateRole")).toBe(3);
    expect(s3.objects(`${PREFIX}data/`)).toHaveLength(1);
    expect(sleeps.length).toBeGreaterThanOrEqual(4);

    const other = testRuntime();
    other.iam.faults.fail("CreateRole", iamThrottling, { times: 99 });
    const err = await other.runtime.start(spec(), []).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect(err).toMatchObject({ code: "runtime.aws_busy" });
    expect((err as DomainError).message).toMatch(/creating the permit's task role after 5 attempts \(Throttling\)/);
    expect(other.s3.allVersions()).toEqual([]);
  });
});

describe("EcsRuntime.releasePermit", () => {
  it("deletes the permit's task role and its policy once the permit's data is destroyed, idempotently", async () => {
    const { runtime, iam, workspaces } = testRuntime();
    workspaces.set(W, P);
    await runtime.start(spec(), []);
    expect(iam.roles.size).toBe(1);
    await runtime.releasePermit(P);
    expect(iam.roles.size).toBe(0);
    await runtime.releasePermit(P); // already gone: nothing to do, no error
    expect(iam.faults.count("DeleteRole")).toBe(1);
  });

  it("never deletes a role of that name that is not tagged as this permit's", async () => {
    const { runtime, iam } = testRuntime();
    iam.roles.set("spe-test-permit-p-onc", {
      arn: `arn:aws:iam::${ACCOUNT}:role/spe/test/spe-test-permit-p-onc`,
      path: "/spe/test/",
      boundary: BOUNDARY,
      trust: "{}",
      policies: new Map([["x", "{}"]]),
      tags: [{ Key: "spe:permit", Value: "someone-else" }],
    });
    await expect(runtime.releasePermit(P)).rejects.toThrow(/refusing to delete IAM role/);
    expect(iam.roles.size).toBe(1);
    expect(iam.faults.count("DeleteRolePolicy")).toBe(0);
  });

  it("retries a throttled deletion, and refuses a malformed permit id before calling IAM", async () => {
    const { runtime, iam, workspaces } = testRuntime();
    workspaces.set(W, P);
    await runtime.start(spec(), []);
    iam.faults.fail("DeleteRole", iamThrottling, { times: 1 });
    await runtime.releasePermit(P);
    expect(iam.roles.size).toBe(0);
    await expect(runtime.releasePermit("../other")).rejects.toBeInstanceOf(DomainError);
  });
});

describe("EcsRuntime.stop and exists", () => {
  it("stops the tasks, retires the grants and deletes every version, delete marker and unfinished upload", async () => {
    const { runtime, s3, ecs, keys, workspaces } = testRuntime();
    workspaces.set(W, P).set("ws-other", P);
    s3.pageSize = 2; // several pages of versions
    await runtime.start(spec(), [staged("ds-1/a.csv", "a\n").file]);
    s3.seed(`${PREFIX}home/x.py`, "v1");
    s3.seed(`${PREFIX}home/x.py`, "v2");
    s3.seed(`${PREFIX}outputs/r.csv`, "r");
    await s3.client.send(
      new (await import("@aws-sdk/client-s3")).DeleteObjectsCommand({
        Bucket: BUCKET,
        Delete: { Objects: [{ Key: `${PREFIX}outputs/r.csv` }] },
      }),
    );
    await s3.client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: `${PREFIX}outputs/big.bin` }));
    s3.seed(`permits/${P}/workspaces/ws-other/home/keep.py`, "keep");
    const task = ecs.add(W, "job-01a");
    expect(await runtime.exists(W)).toBe(true);

    await runtime.stop(W);
    expect(task).toMatchObject({ desiredStatus: "STOPPED", lastStatus: "STOPPED" });
    expect(s3.allVersions(PREFIX)).toEqual([]);
    expect(s3.uploads()).toEqual([]);
    expect(keys.retired).toContain(`${P}/${W}`);
    expect(s3.text(`permits/${P}/workspaces/ws-other/home/keep.py`)).toBe("keep");
    expect(await runtime.exists(W)).toBe(false);
    await runtime.stop(W); // idempotent
  });

  it("counts a lone delete marker as something left, so a sweep still removes it", async () => {
    const { runtime, s3, workspaces } = testRuntime();
    workspaces.set(W, P);
    s3.seed(`${PREFIX}outputs/r.csv`, "r");
    const { DeleteObjectsCommand } = await import("@aws-sdk/client-s3");
    await s3.client.send(
      new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: [{ Key: `${PREFIX}outputs/r.csv` }] } }),
    );
    expect(s3.objects(PREFIX)).toEqual([]);
    expect(await runtime.exists(W)).toBe(true);
    await runtime.stop(W);
    expect(await runtime.exists(W)).toBe(false);
  });

  it("fails loudly, keeping the grant retired, when S3 refuses to delete, and completes on retry", async () => {
    const { runtime, s3, workspaces } = testRuntime();
    workspaces.set(W, P);
    await runtime.start(spec(), [staged("ds-1/a.csv", "a\n").file]);
    s3.faults.fail("DeleteObjects", () => s3Error("AccessDenied", 403, "Access Denied"));
    await expect(runtime.stop(W)).rejects.toThrow("Access Denied");
    expect(await runtime.exists(W)).toBe(true);
    await runtime.stop(W);
    expect(s3.allVersions(PREFIX)).toEqual([]);
  });

  it("for a workspace the store does not know, only stops its tasks", async () => {
    const { runtime, ecs, s3 } = testRuntime();
    s3.seed(`${PREFIX}home/x`, "x");
    const task = ecs.add(W, "job-01a");
    await runtime.stop(W);
    expect(task.desiredStatus).toBe("STOPPED");
    expect(await runtime.exists(W)).toBe(false);
    expect(s3.faults.count("DeleteObjects")).toBe(0);
  });

  it("rejects a malformed workspace id before any call", async () => {
    const { runtime, ecs } = testRuntime();
    await expect(runtime.exists("../ws")).rejects.toMatchObject({ code: "runtime.invalid_workspace" });
    await expect(runtime.stop("ws-1/../x")).rejects.toBeInstanceOf(DomainError);
    expect(ecs.faults.calls).toEqual([]);
  });
});

import { ClientException } from "@aws-sdk/client-ecs";
import { type JobSpec, UnavailableError, ValidationError, type WorkspaceSpec } from "@spe/core";
import { describe, expect, it } from "vitest";
import { jobSpecKey } from "./agent/protocol";
import { ecsThrottling, staged, testRuntime } from "./ecs-runtime.test-support";
import { fargateSize, STOP_REASON } from "./ecs-tasks";

const P = "p-onc";
const W = "ws-01abc";
const PREFIX = `permits/${P}/workspaces/${W}/`;
const JOB = "job-01xyz";
const wsSpec: WorkspaceSpec = {
  workspaceId: W,
  permitId: P,
  owner: "u-1",
  expiresAt: "2026-03-02T10:00:00Z",
  limits: { cpus: 2, memoryMiB: 4096 },
};
const job = (over: Partial<JobSpec> = {}): JobSpec => ({
  workspaceId: W,
  jobId: JOB,
  command: ["python3", "home/analyse.py", "--subject=P-000123"],
  timeoutSeconds: 600,
  memoryMiB: 4096,
  ...over,
});

async function started() {
  const t = testRuntime();
  t.workspaces.set(W, P);
  await t.runtime.start(wsSpec, [staged("ds-1/a.csv", "a\n").file]);
  return t;
}

describe("fargateSize", () => {
  it.each([
    [0.25, 256, { cpu: "256", memory: "512" }],
    [1, 512, { cpu: "1024", memory: "2048" }],
    [2, 4096, { cpu: "2048", memory: "5120" }],
    [2, 20_000, { cpu: "4096", memory: "20480" }],
    [4, 30_000, { cpu: "4096", memory: "30720" }],
    [8, 50_000, { cpu: "8192", memory: "53248" }],
  ])("gives %s vCPU and %s MiB (+ the agent's) the smallest valid Fargate size", (cpus, mem, size) => {
    expect(fargateSize(cpus, mem)).toEqual(size);
  });

  it("refuses what no Fargate task has, saying what to change", () => {
    expect(() => fargateSize(16, 200_000)).toThrow(UnavailableError);
    expect(() => fargateSize(32, 1024)).toThrow(/lower the permit's limits/);
  });
});

describe("EcsRuntime.startJob", () => {
  it("runs the job in the isolated subnets, without a public IP, with the permit's role and the agent's argv", async () => {
    const { runtime, ecs, iam, keys } = await started();
    await runtime.startJob(job());
    const [input] = ecs.runInputs();
    const role = iam.roles.get("spe-test-permit-p-onc")!;
    expect(input).toEqual({
      cluster: "arn:aws:ecs:eu-central-1:123456789012:cluster/spe-test",
      taskDefinition: "arn:aws:ecs:eu-central-1:123456789012:task-definition/spe-test-workspace:3",
      launchType: "FARGATE",
      count: 1,
      networkConfiguration: {
        awsvpcConfiguration: {
          subnets: ["subnet-0aa1", "subnet-0bb2"],
          securityGroups: ["sg-0c0ffee"],
          assignPublicIp: "DISABLED",
        },
      },
      overrides: {
        taskRoleArn: role.arn,
        cpu: "2048",
        memory: "5120",
        containerOverrides: [
          {
            name: "workspace",
            command: ["run-job"],
            environment: [
              { name: "SPE_BUCKET", value: "spe-test-workspaces" },
              { name: "SPE_PREFIX", value: PREFIX },
              { name: "SPE_JOB_ID", value: JOB },
              { name: "SPE_TIMEOUT_SECONDS", value: "600" },
              { name: "SPE_OUTPUTS_QUOTA_BYTES", value: String(1024 ** 3) },
              { name: "SPE_KMS_KEY_ID", value: keys.permitKeyAliasArn(P) },
            ],
          },
        ],
      },
      startedBy: W,
      tags: [
        { key: "spe:workspace", value: W },
        { key: "spe:job", value: JOB },
        { key: "spe:permit", value: P },
      ],
      propagateTags: "TASK_DEFINITION",
      enableECSManagedTags: true,
      enableExecuteCommand: false,
      clientToken: JOB,
    });
    expect(runtime.jobRunning(W, JOB)).toBe(true);
    expect(runtime.jobRunning(W, "job-other")).toBe(false);
  });

  it("keeps the argv out of RunTask (CloudTrail, DescribeTasks) and in the bucket, encrypted under the permit key", async () => {
    const { runtime, ecs, s3, keys } = await started();
    await runtime.startJob(job());
    expect(JSON.stringify(ecs.runInputs())).not.toContain("P-000123");
    const stored = s3.current(jobSpecKey(PREFIX, JOB))!;
    expect(JSON.parse(stored.body!.toString())).toEqual({
      jobId: JOB,
      command: ["python3", "home/analyse.py", "--subject=P-000123"],
      timeoutSeconds: 600,
    });
    expect(stored.kmsKeyId).toBe(keys.permitKeyAliasArn(P));
  });

  it("retries a throttled RunTask with the same client token and starts exactly one task", async () => {
    const { runtime, ecs } = await started();
    ecs.faults.fail("RunTask", ecsThrottling, { times: 2 });
    await runtime.startJob(job());
    expect(ecs.runInputs().map((i) => i.clientToken)).toEqual([JOB, JOB, JOB]);
    expect(ecs.tasks.size).toBe(1);
  });

  it("retries a lost RunTask response without a second task (the client token makes it idempotent)", async () => {
    const { runtime, ecs } = await started();
    ecs.faults.fail("RunTask", ecsThrottling, { after: true });
    await runtime.startJob(job());
    expect(ecs.faults.count("RunTask")).toBe(2);
    expect(ecs.tasks.size).toBe(1);
  });

  it("waits out a just-created role ECS cannot assume yet", async () => {
    const { runtime, ecs } = await started();
    ecs.faults.fail(
      "RunTask",
      () =>
        new ClientException({
          message:
            "ECS was unable to assume the role 'arn:aws:iam::123456789012:role/spe/test/spe-test-permit-p-onc' that was provided for this task.",
          $metadata: { httpStatusCode: 400 },
        }),
      { times: 2 },
    );
    await runtime.startJob(job());
    expect(ecs.tasks.size).toBe(1);
  });

  it("turns a refusal in failures[] into a 503 and withdraws the job's spec", async () => {
    const { runtime, ecs, s3 } = await started();
    ecs.refuse = {
      reason: "Capacity is unavailable at this time. Please try again later or in a different availability zone",
    };
    const err = await runtime.startJob(job()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect(err).toMatchObject({ code: "runtime.capacity" });
    expect((err as Error).message).toContain("Capacity is unavailable");
    expect(ecs.tasks.size).toBe(0);
    expect(s3.current(jobSpecKey(PREFIX, JOB))?.body).toBeNull();
    expect(runtime.jobRunning(W, JOB)).toBe(false);
  });

  it("leaves no orphan when RunTask started the task but the call failed: the task is stopped, the spec withdrawn", async () => {
    const { runtime, ecs, s3 } = await started();
    const other = ecs.add(W, "job-01other");
    const lost = Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });
    ecs.faults.fail("RunTask", () => lost, { after: true });
    await expect(runtime.startJob(job())).rejects.toBe(lost);
    const ours = [...ecs.tasks.values()].filter((t) => t.tags.some((x) => x.value === JOB));
    expect(ours).toHaveLength(1);
    expect(ours[0]).toMatchObject({ desiredStatus: "STOPPED", stoppedReason: STOP_REASON });
    expect(other.desiredStatus).toBe("RUNNING"); // the workspace's other job runs on
    // a task ECS starts late finds no spec and runs nothing (the agent exits "withdrawn")
    expect(s3.current(jobSpecKey(PREFIX, JOB))?.body).toBeNull();
  });

  it("surfaces RunTask throttling that persists as a 503 and stops whatever it may have started", async () => {
    const { runtime, ecs } = await started();
    ecs.faults.fail("RunTask", ecsThrottling, { times: 99, after: true });
    await expect(runtime.startJob(job())).rejects.toMatchObject({ code: "runtime.aws_busy" });
    expect([...ecs.tasks.values()].map((t) => t.desiredStatus)).toEqual(["STOPPED"]);
  });

  it("refuses a job in a workspace that was never started, without calling ECS", async () => {
    const { runtime, ecs, workspaces } = testRuntime();
    workspaces.set(W, P);
    await expect(runtime.startJob(job())).rejects.toMatchObject({ code: "runtime.workspace_missing" });
    expect(ecs.faults.calls).toEqual([]);
  });

  it.each([
    ["an empty argv", { command: [] }],
    ["an empty program", { command: [""] }],
    ["a NUL in an argument", { command: ["python3", "a\0b"] }],
    ["a zero timeout", { timeoutSeconds: 0 }],
  ])("rejects %s before anything is written", async (_name, over) => {
    const { runtime, ecs, s3 } = await started();
    const puts = s3.faults.count("PutObject");
    await expect(runtime.startJob(job(over))).rejects.toBeInstanceOf(ValidationError);
    expect(ecs.faults.count("RunTask")).toBe(0);
    expect(s3.faults.count("PutObject")).toBe(puts);
  });
});

describe("EcsRuntime.stopJobs", () => {
  it("stops every running task of the workspace (all pages) and returns once all are STOPPED", async () => {
    const { runtime, ecs, workspaces } = testRuntime();
    workspaces.set(W, P);
    ecs.pageSize = 2;
    ecs.stopsAfter = 3;
    const tasks = ["job-01a", "job-01b", "job-01c"].map((j) => ecs.add(W, j));
    const elsewhere = ecs.add("ws-02other", "job-01d");
    await runtime.stopJobs(W);
    for (const t of tasks) expect(t).toMatchObject({ lastStatus: "STOPPED", stoppedReason: STOP_REASON });
    expect(elsewhere.desiredStatus).toBe("RUNNING");
  });

  it("also waits for tasks already stopping (they may still be saving files)", async () => {
    const { runtime, ecs } = testRuntime();
    const t = ecs.add(W, "job-01a", { desiredStatus: "STOPPED", lastStatus: "DEACTIVATING", stopsAfter: 2 });
    await runtime.stopJobs(W);
    expect(t.lastStatus).toBe("STOPPED");
    expect(ecs.faults.count("StopTask")).toBe(0);
  });

  it("retries a throttled StopTask", async () => {
    const { runtime, ecs } = testRuntime();
    const t = ecs.add(W, "job-01a");
    ecs.faults.fail("StopTask", ecsThrottling, { times: 2 });
    await runtime.stopJobs(W);
    expect(ecs.faults.count("StopTask")).toBe(3);
    expect(t.lastStatus).toBe("STOPPED");
  });

  it("gives up with a 503 when a task does not stop in time, so the sweeper retries", async () => {
    const { runtime, ecs } = testRuntime();
    ecs.add(W, "job-01a", { stopsAfter: Number.POSITIVE_INFINITY });
    await expect(runtime.stopJobs(W)).rejects.toMatchObject({ code: "runtime.stop_pending" });
  });

  it("does nothing when the workspace has no task", async () => {
    const { runtime, ecs } = testRuntime();
    await runtime.stopJobs(W);
    expect(ecs.faults.count("StopTask")).toBe(0);
    expect(ecs.faults.count("DescribeTasks")).toBe(0);
  });
});

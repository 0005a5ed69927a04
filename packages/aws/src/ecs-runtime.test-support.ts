/**
 * Test support for the ECS workspace runtime: small stateful fakes of ECS (tasks that take a few polls
 * to stop, RunTask idempotent on its client token, paginated ListTasks), IAM (roles and inline policies)
 * and the KMS grants, behind aws-sdk-client-mock, with faults from testing/faults.ts and the errors
 * these services really answer. Not a test file itself: the runtime tests import it.
 */
import {
  DescribeTasksCommand,
  ECSClient,
  ECSServiceException,
  ListTasksCommand,
  RunTaskCommand,
  type RunTaskCommandInput,
  StopTaskCommand,
} from "@aws-sdk/client-ecs";
import {
  CreateRoleCommand,
  EntityAlreadyExistsException,
  GetRoleCommand,
  IAMClient,
  IAMServiceException,
  NoSuchEntityException,
  PutRolePolicyCommand,
} from "@aws-sdk/client-iam";
import { mockClient } from "aws-sdk-client-mock";
import { EcsRuntime, type EcsRuntimeOptions, type WorkspaceKeyGrants } from "./ecs-runtime";
import { Faults } from "./testing/faults";
import { MemoryS3 } from "./workspace-s3.test-support";

export const ACCOUNT = "123456789012";
export const REGION = "eu-central-1";
export const CLUSTER = `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/spe-test`;
export const BUCKET = "spe-test-workspaces";
export const BOUNDARY = `arn:aws:iam::${ACCOUNT}:policy/spe-test-workspace-boundary`;
const credentials = { accessKeyId: "AKIAFAKEFAKEFAKE", secretAccessKey: "fake" };

/** ECS's throttling answer: not a modelled exception in the ECS client, a named service exception. */
export const ecsThrottling = () =>
  new ECSServiceException({
    name: "ThrottlingException",
    $fault: "client",
    $metadata: { httpStatusCode: 400 },
    message: "Rate exceeded",
  });

/** IAM's throttling answer (code `Throttling`). */
export const iamThrottling = () =>
  new IAMServiceException({
    name: "Throttling",
    $fault: "client",
    $metadata: { httpStatusCode: 400 },
    message: "Rate exceeded",
  });

export interface FakeTask {
  taskArn: string;
  startedBy?: string;
  desiredStatus: "RUNNING" | "STOPPED";
  lastStatus: string;
  tags: { key: string; value: string }[];
  input: RunTaskCommandInput;
  stoppedReason?: string;
  /** DescribeTasks calls after StopTask until it reports STOPPED; Infinity: never stops. */
  stopsAfter: number;
}

export class FakeEcs {
  readonly client = new ECSClient({ region: REGION, credentials });
  readonly mock = mockClient(this.client);
  readonly faults = new Faults();
  readonly tasks = new Map<string, FakeTask>();
  /** Answer RunTask with this failure instead of a task (e.g. capacity). */
  refuse: { arn?: string; reason: string; detail?: string } | null = null;
  pageSize = 100;
  stopsAfter = 1;
  private n = 0;

  constructor() {
    const m = this.mock;
    m.onAnyCommand().callsFake((input: unknown) => {
      throw new Error(`FakeEcs does not implement this command (${JSON.stringify(input)})`);
    });
    const on =
      <I>(name: string, fn: (i: I) => unknown) =>
      (i: I) =>
        this.faults.run(name, i, () => fn(i));
    m.on(RunTaskCommand).callsFake(on("RunTask", (i: RunTaskCommandInput) => this.run(i)));
    m.on(ListTasksCommand).callsFake(
      on("ListTasks", (i: ListTasksCommand["input"]) => {
        const all = [...this.tasks.values()].filter(
          (t) => t.startedBy === i.startedBy && t.desiredStatus === (i.desiredStatus ?? "RUNNING"),
        );
        const from = i.nextToken ? Number(i.nextToken) : 0;
        const size = Math.min(i.maxResults ?? 100, this.pageSize);
        const page = all.slice(from, from + size);
        return {
          taskArns: page.map((t) => t.taskArn),
          ...(from + size < all.length ? { nextToken: String(from + size) } : {}),
        };
      }),
    );
    m.on(DescribeTasksCommand).callsFake(
      on("DescribeTasks", (i: DescribeTasksCommand["input"]) => {
        const tasks = [];
        const failures = [];
        for (const arn of i.tasks ?? []) {
          const t = this.tasks.get(arn);
          if (!t) {
            failures.push({ arn, reason: "MISSING" });
            continue;
          }
          if (t.desiredStatus === "STOPPED" && t.lastStatus !== "STOPPED" && --t.stopsAfter <= 0)
            t.lastStatus = "STOPPED";
          tasks.push({
            taskArn: t.taskArn,
            lastStatus: t.lastStatus,
            desiredStatus: t.desiredStatus,
            ...(i.include?.includes("TAGS") ? { tags: t.tags } : {}),
          });
        }
        return { tasks, failures };
      }),
    );
    m.on(StopTaskCommand).callsFake(
      on("StopTask", (i: StopTaskCommand["input"]) => {
        const t = this.tasks.get(i.task ?? "");
        if (!t) {
          throw new ECSServiceException({
            name: "InvalidParameterException",
            $fault: "client",
            $metadata: { httpStatusCode: 400 },
            message: "The referenced task was not found.",
          });
        }
        if (t.desiredStatus !== "STOPPED") {
          t.desiredStatus = "STOPPED";
          t.lastStatus = "DEACTIVATING";
          t.stoppedReason = i.reason;
        }
        return { task: { taskArn: t.taskArn, desiredStatus: "STOPPED", lastStatus: t.lastStatus } };
      }),
    );
  }

  private run(i: RunTaskCommandInput) {
    if (this.refuse) return { tasks: [], failures: [{ ...this.refuse }] };
    const same = [...this.tasks.values()].find((t) => i.clientToken && t.input.clientToken === i.clientToken);
    if (same) return { tasks: [{ taskArn: same.taskArn, lastStatus: same.lastStatus }], failures: [] };
    const taskArn = `arn:aws:ecs:${REGION}:${ACCOUNT}:task/spe-test/${(++this.n).toString(16).padStart(32, "0")}`;
    const task: FakeTask = {
      taskArn,
      ...(i.startedBy ? { startedBy: i.startedBy } : {}),
      desiredStatus: "RUNNING",
      lastStatus: "PROVISIONING",
      tags: (i.tags ?? []).map((t) => ({ key: t.key!, value: t.value! })),
      input: i,
      stopsAfter: this.stopsAfter,
    };
    this.tasks.set(taskArn, task);
    return { tasks: [{ taskArn, lastStatus: "PROVISIONING" }], failures: [] };
  }

  /** Arranges a task of a workspace as if RunTask had started it. */
  add(workspaceId: string, jobId: string, over: Partial<FakeTask> = {}): FakeTask {
    const res = this.run({
      taskDefinition: "spe-test-workspace",
      startedBy: workspaceId,
      clientToken: jobId,
      tags: [{ key: "spe:job", value: jobId }],
    });
    const t = this.tasks.get(res.tasks[0]!.taskArn!)!;
    Object.assign(t, { lastStatus: "RUNNING" }, over);
    return t;
  }

  runInputs(): RunTaskCommandInput[] {
    return this.faults.calls.filter((c) => c.command === "RunTask").map((c) => c.input as RunTaskCommandInput);
  }
}

export class FakeIam {
  readonly client = new IAMClient({ region: "us-east-1", credentials });
  readonly mock = mockClient(this.client);
  readonly faults = new Faults();
  readonly roles = new Map<
    string,
    { arn: string; path: string; boundary?: string; trust: string; policies: Map<string, string> }
  >();

  constructor() {
    const m = this.mock;
    const on =
      <I>(name: string, fn: (i: I) => unknown) =>
      (i: I) =>
        this.faults.run(name, i, () => fn(i));
    m.on(CreateRoleCommand).callsFake(
      on("CreateRole", (i: CreateRoleCommand["input"]) => {
        const name = i.RoleName!;
        if ([...this.roles.keys()].some((k) => k.toLowerCase() === name.toLowerCase())) {
          throw new EntityAlreadyExistsException({
            message: `Role with name ${name} already exists.`,
            $metadata: { httpStatusCode: 409 },
          });
        }
        const arn = `arn:aws:iam::${ACCOUNT}:role${i.Path ?? "/"}${name}`;
        this.roles.set(name, {
          arn,
          path: i.Path ?? "/",
          ...(i.PermissionsBoundary ? { boundary: i.PermissionsBoundary } : {}),
          trust: i.AssumeRolePolicyDocument!,
          policies: new Map(),
        });
        return { Role: { RoleName: name, Arn: arn, Path: i.Path } };
      }),
    );
    m.on(GetRoleCommand).callsFake(
      on("GetRole", (i: GetRoleCommand["input"]) => {
        const r = this.roles.get(i.RoleName!);
        if (!r) {
          throw new NoSuchEntityException({ message: "The role cannot be found.", $metadata: { httpStatusCode: 404 } });
        }
        return {
          Role: {
            RoleName: i.RoleName,
            Arn: r.arn,
            Path: r.path,
            ...(r.boundary
              ? { PermissionsBoundary: { PermissionsBoundaryType: "Policy", PermissionsBoundaryArn: r.boundary } }
              : {}),
          },
        };
      }),
    );
    m.on(PutRolePolicyCommand).callsFake(
      on("PutRolePolicy", (i: PutRolePolicyCommand["input"]) => {
        const r = this.roles.get(i.RoleName!);
        if (!r)
          throw new NoSuchEntityException({ message: "The role cannot be found.", $metadata: { httpStatusCode: 404 } });
        r.policies.set(i.PolicyName!, i.PolicyDocument!);
        return {};
      }),
    );
  }
}

/** The KMS grants the runtime asks for, recorded; `failGrant` makes the next grant fail. */
export class FakeGrants implements WorkspaceKeyGrants {
  readonly grants = new Map<string, string>();
  readonly retired: string[] = [];
  failGrant: Error | null = null;

  permitKeyAliasArn(permitId: string): string {
    return `arn:aws:kms:${REGION}:${ACCOUNT}:alias/spe-test-permit-${permitId}`;
  }

  async grantWorkspace(permitId: string, workspaceId: string, roleArn: string): Promise<void> {
    if (this.failGrant) {
      const e = this.failGrant;
      this.failGrant = null;
      throw e;
    }
    this.grants.set(`${permitId}/${workspaceId}`, roleArn);
  }

  async retireWorkspaceGrants(permitId: string, workspaceId: string): Promise<void> {
    this.grants.delete(`${permitId}/${workspaceId}`);
    this.retired.push(`${permitId}/${workspaceId}`);
  }
}

/** A runtime over fresh fakes, with retries that do not sleep. */
export function testRuntime(over: Partial<EcsRuntimeOptions> = {}) {
  const ecs = new FakeEcs();
  const s3 = new MemoryS3(BUCKET);
  const iam = new FakeIam();
  const keys = new FakeGrants();
  const workspaces = new Map<string, string>();
  const sleeps: number[] = [];
  const sleep = async (ms: number) => {
    sleeps.push(ms);
  };
  const runtime = new EcsRuntime({
    ecs: ecs.client,
    s3: s3.client,
    iam: iam.client,
    keys,
    bucket: BUCKET,
    cluster: CLUSTER,
    taskDefinition: `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/spe-test-workspace:3`,
    containerName: "workspace",
    subnets: ["subnet-0aa1", "subnet-0bb2"],
    securityGroup: "sg-0c0ffee",
    roleBoundaryArn: BOUNDARY,
    rolePath: "/spe/test/",
    stage: "test",
    outputsQuotaBytes: 1024 ** 3,
    resolveWorkspace: async (id) => {
      const permitId = workspaces.get(id);
      return permitId ? { permitId } : null;
    },
    now: () => new Date("2026-03-01T10:00:00Z"),
    retry: { sleep },
    stopWait: { sleep, pollMs: 1000, timeoutMs: 10_000 },
    ...over,
  });
  return { runtime, ecs, s3, iam, keys, workspaces, sleeps };
}

/** A staged file whose stream is generated on demand, counting how many chunks were read. */
export function staged(path: string, content: string | { bytes: number; chunk?: number }) {
  /** Chunks read by each open(), in order (core may open a staged file more than once). */
  const reads = { chunks: 0, opens: 0, perOpen: [] as number[] };
  return {
    reads,
    file: {
      path,
      open: async function* () {
        const open = reads.opens++;
        reads.perOpen[open] = 0;
        if (typeof content === "string") {
          reads.chunks++;
          reads.perOpen[open]++;
          yield Buffer.from(content);
          return;
        }
        const size = content.chunk ?? 1024 * 1024;
        for (let at = 0; at < content.bytes; at += size) {
          reads.chunks++;
          reads.perOpen[open]++;
          const n = Math.min(size, content.bytes - at);
          yield Buffer.alloc(n, (at / size) % 251);
        }
      },
    },
  };
}

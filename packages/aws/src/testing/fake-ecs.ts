/**
 * An in-memory ECS behind aws-sdk-client-mock, for the workspace runtime: Fargate tasks started by RunTask
 * (idempotent on its client token, as ECS is), found by ListTasks (by `startedBy` and desired status,
 * paginated), described with their tags, and stopped by StopTask, taking a few DescribeTasks polls to reach
 * STOPPED (`stopsAfter`). Answers ECS's real errors (a task it does not know) and takes faults (faults.ts).
 * `snapshot`/`restore` copy its tasks, so a test can start many runs from one arranged state.
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
import { mockClient } from "aws-sdk-client-mock";
import { Faults } from "./faults";

const DEFAULT_ACCOUNT = "123456789012";
const REGION = "eu-central-1";
const credentials = { accessKeyId: "AKIAFAKEFAKEFAKE", secretAccessKey: "fake" };

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
  /** Set by a test once the task's container has exited and its STOPPED event was delivered. */
  exitCode?: number | null;
}

/** What a FakeEcs holds, copied by `snapshot` and put back by `restore`. */
export interface EcsState {
  tasks: Map<string, FakeTask>;
  n: number;
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

  /** @param account the account of the task ARNs. */
  constructor(private readonly account = DEFAULT_ACCOUNT) {
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
    const taskArn = `arn:aws:ecs:${REGION}:${this.account}:task/spe-test/${(++this.n).toString(16).padStart(32, "0")}`;
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

  /** A copy of every task (and the task counter), for `restore`. */
  snapshot(): EcsState {
    return { tasks: new Map([...this.tasks].map(([arn, t]) => [arn, { ...t, tags: [...t.tags] }])), n: this.n };
  }

  /** Replaces the tasks with a copy of a snapshot's. */
  restore(s: EcsState): void {
    this.tasks.clear();
    for (const [arn, t] of s.tasks) this.tasks.set(arn, { ...t, tags: [...t.tags] });
    this.n = s.n;
  }
}

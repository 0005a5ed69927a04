/**
 * The ECS side of the workspace runtime: the Fargate size of a job, the RunTask request of a job (isolated
 * subnets, no public IP, the permit's task role, the agent's command, no ECS Exec), and finding, stopping
 * and waiting for a workspace's tasks. Tasks carry the workspace id in `startedBy`, so ListTasks finds them
 * without a table of our own, and the job id in the `spe:job` tag and the RunTask client token.
 */
import {
  DescribeTasksCommand,
  type ECSClient,
  ListTasksCommand,
  type RunTaskCommandInput,
  StopTaskCommand,
  type Task,
} from "@aws-sdk/client-ecs";
import { UnavailableError } from "@spe/core";
import { AGENT_COMMAND, AGENT_ENV } from "./agent/protocol";
import { type RetryOptions, realSleep, retrying } from "./runtime-retry";

/** Memory the agent itself may use next to the job (node, the S3 client, buffers of two uploads). */
export const AGENT_HEADROOM_MIB = 256;
/** `stoppedReason` of every task the runtime stops; task-events.ts recognises it. */
export const STOP_REASON = "spe: stopped by the controller (workspace stopping or job cancelled)";

/** Fargate's valid task sizes (Linux, platform 1.4): memory MiB per CPU units. */
const FARGATE_SIZES: ReadonlyArray<{ cpu: number; memory: readonly number[] }> = [
  { cpu: 256, memory: [512, 1024, 2048] },
  { cpu: 512, memory: steps(1024, 4096, 1024) },
  { cpu: 1024, memory: steps(2048, 8192, 1024) },
  { cpu: 2048, memory: steps(4096, 16384, 1024) },
  { cpu: 4096, memory: steps(8192, 30720, 1024) },
  { cpu: 8192, memory: steps(16384, 61440, 4096) },
  { cpu: 16384, memory: steps(32768, 122880, 8192) },
];

function steps(from: number, to: number, step: number): number[] {
  const out: number[] = [];
  for (let m = from; m <= to; m += step) out.push(m);
  return out;
}

/**
 * The smallest valid Fargate size with at least `cpus` vCPUs and `memoryMiB` for the job plus
 * AGENT_HEADROOM_MIB for the agent.
 * @throws UnavailableError `runtime.no_task_size` when Fargate has none that large.
 */
export function fargateSize(cpus: number, memoryMiB: number): { cpu: string; memory: string } {
  const cpuUnits = Math.ceil(Math.max(0.25, cpus) * 1024);
  const memory = memoryMiB + AGENT_HEADROOM_MIB;
  for (const size of FARGATE_SIZES) {
    if (size.cpu < cpuUnits) continue;
    const fits = size.memory.find((m) => m >= memory);
    if (fits !== undefined) return { cpu: String(size.cpu), memory: String(fits) };
  }
  throw new UnavailableError(
    "runtime.no_task_size",
    `no Fargate task has ${cpus} vCPU and ${memory} MiB (the job's ${memoryMiB} MiB and the agent's ${AGENT_HEADROOM_MIB}): ` +
      "the largest is 16 vCPU with 120 GiB; lower the permit's limits",
  );
}

export interface NetworkOptions {
  cluster: string;
  taskDefinition: string;
  containerName: string;
  subnets: string[];
  securityGroup: string;
}

export interface JobTask {
  workspaceId: string;
  permitId: string;
  jobId: string;
  prefix: string;
  bucket: string;
  kmsKeyId: string;
  taskRoleArn: string;
  timeoutSeconds: number;
  outputsQuotaBytes: number;
  size: { cpu: string; memory: string };
}

/** The RunTask request of one job. The job's argv is not in it: the agent reads it from the bucket. */
export function runTaskInput(n: NetworkOptions, j: JobTask): RunTaskCommandInput {
  return {
    cluster: n.cluster,
    taskDefinition: n.taskDefinition,
    launchType: "FARGATE",
    count: 1,
    networkConfiguration: {
      awsvpcConfiguration: { subnets: [...n.subnets], securityGroups: [n.securityGroup], assignPublicIp: "DISABLED" },
    },
    overrides: {
      taskRoleArn: j.taskRoleArn,
      cpu: j.size.cpu,
      memory: j.size.memory,
      containerOverrides: [
        {
          name: n.containerName,
          command: [...AGENT_COMMAND],
          environment: [
            { name: AGENT_ENV.bucket, value: j.bucket },
            { name: AGENT_ENV.prefix, value: j.prefix },
            { name: AGENT_ENV.jobId, value: j.jobId },
            { name: AGENT_ENV.timeoutSeconds, value: String(j.timeoutSeconds) },
            { name: AGENT_ENV.outputsQuotaBytes, value: String(j.outputsQuotaBytes) },
            { name: AGENT_ENV.kmsKeyId, value: j.kmsKeyId },
          ],
        },
      ],
    },
    startedBy: j.workspaceId,
    tags: [
      { key: "spe:workspace", value: j.workspaceId },
      { key: "spe:job", value: j.jobId },
      { key: "spe:permit", value: j.permitId },
    ],
    propagateTags: "TASK_DEFINITION",
    enableECSManagedTags: true,
    enableExecuteCommand: false,
    // RunTask with the same token within its idempotency window returns the same task: a retried start
    // never runs a job twice.
    clientToken: j.jobId,
  };
}

export interface TaskCalls {
  ecs: ECSClient;
  cluster: string;
  retry?: RetryOptions;
}

/** ARNs of the workspace's tasks whose desired status is `desired`, every page. */
export async function workspaceTasks(c: TaskCalls, workspaceId: string, desired: "RUNNING" | "STOPPED") {
  const arns: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await retrying(
      "listing the workspace's tasks",
      () =>
        c.ecs.send(
          new ListTasksCommand({ cluster: c.cluster, startedBy: workspaceId, desiredStatus: desired, nextToken }),
        ),
      c.retry,
    );
    arns.push(...(page.taskArns ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return arns;
}

/** The tasks (with their tags); ARNs ECS no longer knows are left out. */
export async function describeTasks(c: TaskCalls, arns: string[]): Promise<Task[]> {
  const tasks: Task[] = [];
  for (let i = 0; i < arns.length; i += 100) {
    const res = await retrying(
      "describing tasks",
      () =>
        c.ecs.send(new DescribeTasksCommand({ cluster: c.cluster, tasks: arns.slice(i, i + 100), include: ["TAGS"] })),
      c.retry,
    );
    tasks.push(...(res.tasks ?? []));
  }
  return tasks;
}

/** Asks ECS to stop each task (SIGTERM, then SIGKILL after the container's stop timeout). Idempotent. */
export async function stopTasks(c: TaskCalls, arns: string[], reason = STOP_REASON): Promise<void> {
  for (const task of arns) {
    await retrying(
      "stopping a task",
      () => c.ecs.send(new StopTaskCommand({ cluster: c.cluster, task, reason })),
      c.retry,
    ).catch((err: unknown) => {
      // Stopping a task that is already gone is what we wanted.
      if (!(err instanceof Error && /not found|does not exist/i.test(err.message))) throw err;
    });
  }
}

export interface WaitOptions {
  /** @default 180 s: ECS allows a container up to 120 s between SIGTERM and SIGKILL. */
  timeoutMs?: number;
  /** @default 5 s */
  pollMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Waits until every task is STOPPED (or unknown to ECS).
 * @throws UnavailableError `runtime.stop_pending` when some are still stopping after `timeoutMs`.
 */
export async function waitStopped(c: TaskCalls, arns: string[], w: WaitOptions = {}): Promise<void> {
  const sleep = w.sleep ?? realSleep;
  const poll = w.pollMs ?? 5000;
  let left = [...arns];
  for (let waited = 0; left.length > 0; waited += poll) {
    const tasks = await describeTasks(c, left);
    left = tasks.filter((t) => t.lastStatus !== "STOPPED").map((t) => t.taskArn!);
    if (left.length === 0) return;
    if (waited >= (w.timeoutMs ?? 180_000)) {
      throw new UnavailableError(
        "runtime.stop_pending",
        `${left.length} task(s) of the workspace are still stopping; retry in a minute`,
      );
    }
    await sleep(poll);
  }
}

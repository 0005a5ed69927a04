/**
 * Starting one job's task: RunTask with retries that cannot duplicate the job (the client token is the job
 * id), riding out throttling and the seconds after a permit's task role is created, when ECS cannot
 * assume it yet. A refusal ECS reports in `failures[]` (no capacity, a missing resource) is a clear 503.
 */
import {
  ClientException,
  InvalidParameterException,
  RunTaskCommand,
  type RunTaskCommandInput,
} from "@aws-sdk/client-ecs";
import { UnavailableError } from "@spe/core";
import type { TaskCalls } from "./ecs-tasks";
import { retrying } from "./runtime-retry";

/** A role IAM has just created is not yet visible to ECS: worth a few more tries. */
export function isRolePropagation(err: unknown): boolean {
  return (
    (err instanceof ClientException || err instanceof InvalidParameterException) &&
    /unable to assume the role|role .* (is not valid|does not exist)/i.test(err.message)
  );
}

/** What ECS said, without ARNs and account ids, for the job's reason. */
function describeFailure(f: { reason?: string; detail?: string }): string {
  const text = [f.reason, f.detail].filter(Boolean).join(": ") || "no reason given";
  return text.replace(/arn:[^\s"']+/g, "<arn>").slice(0, 300);
}

/**
 * @returns the task's ARN.
 * @throws UnavailableError `runtime.capacity` when ECS refused (its `failures[]`), `runtime.aws_busy` when
 * throttled past the retries; other errors as they are.
 */
export async function runJobTask(c: TaskCalls, input: RunTaskCommandInput): Promise<string> {
  const res = await retrying("starting the job's task", () => c.ecs.send(new RunTaskCommand(input)), {
    ...c.retry,
    attempts: Math.max(c.retry?.attempts ?? 5, 6),
    alsoRetry: isRolePropagation,
  });
  const task = res.tasks?.[0];
  if (task?.taskArn) return task.taskArn;
  const failure = res.failures?.[0] ?? {};
  throw new UnavailableError(
    "runtime.capacity",
    `AWS Fargate could not start the job's task (${describeFailure(failure)}); submit the job again later`,
  );
}

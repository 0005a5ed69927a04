/**
 * Lifecycle: the functions that move workspaces through their lives, and what triggers them.
 * - provision: staging + start, invoked asynchronously by the API (up to 15 minutes, memory for streaming);
 * - expire: invoked at a workspace's `expiresAt` by a one-time EventBridge Scheduler schedule, which the
 *   runtime creates in this stack's schedule group with a role that may invoke this function and nothing else;
 * - sweep: the backstop, every 5 minutes;
 * - task-events: ECS "Task State Change" events of this cluster with lastStatus STOPPED (a job's end).
 */
import { Duration } from "aws-cdk-lib";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import * as iam from "aws-cdk-lib/aws-iam";
import * as scheduler from "aws-cdk-lib/aws-scheduler";
import { type StackContext, use } from "sst/constructs";
import { Keys } from "./keys";
import { speFunction } from "./lib/function";
import { grantRuntime, grantScheduler, grantTaskLogs, type RuntimeResources } from "./lib/grants-compute";
import { grantObjects, grantPermitKeys, grantSources, grantStore } from "./lib/grants-data";
import { prefix } from "./lib/names";
import { deadLetterQueue } from "./lib/queues";
import { useFunctionEnvironment } from "./lib/use-environment";
import { State } from "./state";
import { Storage } from "./storage";
import { Workspaces } from "./workspaces";

export function Lifecycle({ stack }: StackContext) {
  const { platformKey } = use(Keys);
  const { table } = use(State);
  const { buckets, datasetBuckets } = use(Storage);
  const ws = use(Workspaces);

  const scheduleGroupName = prefix(stack);
  const scheduleGroup = new scheduler.CfnScheduleGroup(stack, "ExpiryScheduleGroup", { name: scheduleGroupName });
  const schedulerRole = new iam.Role(stack, "ExpirySchedulerRole", {
    assumedBy: new iam.ServicePrincipal("scheduler.amazonaws.com", {
      conditions: {
        StringEquals: { "aws:SourceAccount": stack.account },
        ArnEquals: { "aws:SourceArn": scheduleGroup.attrArn },
      },
    }),
    description: "SPE expiry schedules: invoke the expire function, nothing else",
  });

  const environment = useFunctionEnvironment(stack, { scheduleGroupName, schedulerRole });
  const common = { environment, logKey: platformKey };
  const provision = speFunction(stack, "Provision", {
    ...common,
    key: "provision",
    description: "SPE: stage a workspace's datasets and start it",
    timeout: Duration.minutes(15),
    // Streams datasets through pseudonymisation (HMAC) and encryption: memory buys CPU on Lambda.
    memoryMiB: 2048,
  });
  // No asynchronous retries by Lambda: two provisions of one workspace must never overlap (a failing one wipes
  // what the other staged). A failed run marks the workspace failed itself; a run that died (timeout, crash)
  // is re-dispatched by the sweeper once it has been provisioning for 20 minutes, beyond the 15-minute timeout
  // (AWS_SWEEP in packages/aws/src/compose.ts), so the earlier run is surely over.
  provision.configureAsyncInvoke({ retryAttempts: 0 });
  const expire = speFunction(stack, "Expire", {
    ...common,
    key: "expire",
    description: "SPE: terminate a workspace at its expiry",
    timeout: Duration.minutes(5),
  });
  const sweep = speFunction(stack, "Sweep", {
    ...common,
    key: "sweep",
    description: "SPE: sweeper (overdue workspaces, permit expiry, key destruction)",
    // Shorter than the interval, so two sweeps rarely overlap (and every step is idempotent when they do).
    timeout: Duration.minutes(4),
  });
  const taskEvents = speFunction(stack, "TaskEvents", {
    ...common,
    key: "task-events",
    description: "SPE: record a job's end from its stopped ECS task",
    timeout: Duration.minutes(2),
    memoryMiB: 1024,
  });

  schedulerRole.addToPolicy(
    new iam.PolicyStatement({
      sid: "InvokeExpireOnly",
      actions: ["lambda:InvokeFunction"],
      resources: [expire.functionArn],
    }),
  );

  const runtime: RuntimeResources = { ...ws, workspaces: buckets.workspaces };
  const permitData = [buckets.staging, buckets.outputs, buckets.quarantine, buckets.releases];
  for (const fn of [provision, expire, sweep, taskEvents]) {
    grantStore(fn, table, platformKey);
    grantObjects(fn, "PermitData", permitData);
  }
  for (const fn of [provision, expire, sweep]) grantPermitKeys(fn, stack, "manage");
  // Only provisioning starts workspaces, so only it may create a permit's task role.
  grantRuntime(provision, stack, runtime, "start");
  for (const fn of [expire, sweep]) grantRuntime(fn, stack, runtime, "operate");
  grantSources(provision, stack, datasetBuckets);
  for (const fn of [expire, sweep]) grantScheduler(fn, stack, scheduleGroupName, schedulerRole);
  grantPermitKeys(taskEvents, stack, "use");
  grantRuntime(taskEvents, stack, runtime, "read");
  grantTaskLogs(taskEvents, stack, ws.logGroup);

  // A missed sweep is caught up by the next one: few retries, events no older than the interval.
  new events.Rule(stack, "SweepSchedule", {
    description: "SPE: run the sweeper every 5 minutes",
    schedule: events.Schedule.rate(Duration.minutes(5)),
    targets: [new targets.LambdaFunction(sweep, { retryAttempts: 2, maxEventAge: Duration.minutes(5) })],
  });

  // A job's end is recorded once: retried for a day, then kept in an encrypted queue for an operator.
  const taskEventFailures = deadLetterQueue(stack, "TaskEventsDeadLetters", platformKey);
  const taskStopped = new events.Rule(stack, "TaskStopped", {
    description: "SPE: a workspace task of this cluster stopped",
    eventPattern: {
      source: ["aws.ecs"],
      detailType: ["ECS Task State Change"],
      detail: { clusterArn: [ws.cluster.clusterArn], lastStatus: ["STOPPED"] },
    },
    targets: [
      new targets.LambdaFunction(taskEvents, {
        deadLetterQueue: taskEventFailures,
        retryAttempts: 185,
        maxEventAge: Duration.hours(24),
      }),
    ],
  });

  return {
    scheduleGroupName,
    scheduleGroup,
    schedulerRole,
    provision,
    expire,
    sweep,
    taskEvents,
    taskStopped,
    taskEventFailures,
  } as const;
}

/**
 * Least-privilege grants on compute: the ECS workspace runtime (tasks of this cluster, per-permit task roles
 * that always carry the boundary), the workspace task logs, the expiry scheduler and the provisioning
 * dispatcher. Each statement has a Sid naming the capability; the actions are the adapters' calls.
 */
import type * as ecs from "aws-cdk-lib/aws-ecs";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import type * as logs from "aws-cdk-lib/aws-logs";
import type * as s3 from "aws-cdk-lib/aws-s3";
import type { Stack } from "sst/constructs";
import { LISTING_ACTIONS, OBJECT_ACTIONS } from "./grants-data";
import { allowWildcards, nagArn, nagRef } from "./nag";
import { taskRoleArnPattern, taskRolePath } from "./names";

const statement = (props: iam.PolicyStatementProps) => new iam.PolicyStatement(props);

/** What the runtime works on. */
export interface RuntimeResources {
  readonly cluster: ecs.ICluster;
  readonly taskDefinition: ecs.TaskDefinition;
  readonly executionRole: iam.IRole;
  /** The task definition's placeholder task role (no permissions), which RunTask may also check PassRole on. */
  readonly defaultTaskRole: iam.IRole;
  readonly taskRoleBoundary: iam.IManagedPolicy;
  readonly workspaces: s3.IBucket;
}

/**
 * The ECS runtime. "read" sees tasks and reads workspace areas (the task-events function); "operate" also runs
 * and stops tasks, manages the per-permit task roles (only with the boundary, only under `/spe/<stage>/`),
 * passes them and the execution role to ECS tasks, and writes and wipes workspace areas.
 */
/**
 * The runtime's permissions: `read` (task-events: task state, areas), `operate` (run and stop jobs, wipe areas,
 * delete a shredded permit's task role: api, expire, sweep) or `start` (operate, plus creating a permit's task
 * role: provision only, the one function that starts workspaces).
 */
export function grantRuntime(
  fn: lambda.IFunction,
  stack: Stack,
  r: RuntimeResources,
  mode: "read" | "operate" | "start",
): void {
  const ecsArn = `arn:${stack.partition}:ecs:${stack.region}:${stack.account}`;
  const tasks = `${ecsArn}:task/${r.cluster.clusterName}/*`;
  const inCluster = { ArnEquals: { "ecs:cluster": r.cluster.clusterArn } };
  fn.addToRolePolicy(
    statement({ sid: "RuntimeTasksRead", actions: ["ecs:DescribeTasks"], resources: [tasks], conditions: inCluster }),
  );
  // ListTasks is authorized on container instances, which Fargate has none of: any resource, this cluster only.
  fn.addToRolePolicy(
    statement({ sid: "RuntimeTasksList", actions: ["ecs:ListTasks"], resources: ["*"], conditions: inCluster }),
  );
  const nagTasks = nagArn(stack, "ecs", `task/${nagRef(r.cluster)}/*`);
  allowWildcards(fn, "tasks are started at runtime: only this cluster's (ecs:cluster condition)", [nagTasks]);
  allowWildcards(
    fn,
    "ecs:ListTasks is authorized on container instances, which Fargate has none of; this cluster only",
    ["*"],
  );
  const nagAreas = `${nagRef(r.workspaces, "Arn")}/*`;
  if (mode === "read") {
    fn.addToRolePolicy(
      statement({
        sid: "RuntimeAreasRead",
        actions: ["s3:GetObject"],
        resources: [r.workspaces.arnForObjects("*")],
      }),
    );
    fn.addToRolePolicy(
      statement({ sid: "RuntimeAreasListing", actions: ["s3:ListBucket"], resources: [r.workspaces.bucketArn] }),
    );
    allowWildcards(fn, "workspace areas (permits/<P>/workspaces/<W>/) are created at runtime; read only", [nagAreas]);
    return;
  }
  fn.addToRolePolicy(
    statement({
      sid: "RuntimeRunTask",
      actions: ["ecs:RunTask"],
      // Every revision, and the family's ARN without one (SPE_TASK_DEFINITION_ARN: the latest ACTIVE revision).
      resources: [
        `${ecsArn}:task-definition/${r.taskDefinition.family}`,
        `${ecsArn}:task-definition/${r.taskDefinition.family}:*`,
      ],
      conditions: inCluster,
    }),
  );
  fn.addToRolePolicy(
    statement({ sid: "RuntimeStopTask", actions: ["ecs:StopTask"], resources: [tasks], conditions: inCluster }),
  );
  // RunTask with tags (spe:workspace, spe:job, spe:permit) is also authorized as ecs:TagResource.
  fn.addToRolePolicy(
    statement({
      sid: "RuntimeTagNewTasks",
      actions: ["ecs:TagResource"],
      resources: [tasks],
      conditions: { StringEquals: { "ecs:CreateAction": "RunTask" } },
    }),
  );
  const taskRoles = taskRoleArnPattern(stack);
  const bounded = { StringEquals: { "iam:PermissionsBoundary": r.taskRoleBoundary.managedPolicyArn } };
  // iam:PermissionsBoundary is in the request context of CreateRole, PutRolePolicy and DeleteRolePolicy only:
  // GetRole, TagRole and DeleteRole are limited by the resource (roles under /spe/<stage>/) alone.
  if (mode === "start") {
    fn.addToRolePolicy(
      statement({
        sid: "TaskRolesCreate",
        actions: ["iam:CreateRole", "iam:PutRolePolicy"],
        resources: [taskRoles],
        conditions: bounded,
      }),
    );
    fn.addToRolePolicy(statement({ sid: "TaskRolesTag", actions: ["iam:TagRole"], resources: [taskRoles] }));
  }
  fn.addToRolePolicy(
    statement({
      sid: "TaskRolesCleanup",
      actions: ["iam:DeleteRolePolicy"],
      resources: [taskRoles],
      conditions: bounded,
    }),
  );
  fn.addToRolePolicy(
    statement({ sid: "TaskRolesRead", actions: ["iam:GetRole", "iam:DeleteRole"], resources: [taskRoles] }),
  );
  fn.addToRolePolicy(
    statement({
      sid: "TaskRolesPass",
      actions: ["iam:PassRole"],
      resources: [taskRoles, r.executionRole.roleArn, r.defaultTaskRole.roleArn],
      conditions: { StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } },
    }),
  );
  fn.addToRolePolicy(
    statement({ sid: "RuntimeAreasObjects", actions: OBJECT_ACTIONS, resources: [r.workspaces.arnForObjects("*")] }),
  );
  fn.addToRolePolicy(
    statement({ sid: "RuntimeAreasListing", actions: LISTING_ACTIONS, resources: [r.workspaces.bucketArn] }),
  );
  allowWildcards(fn, "workspace areas (permits/<P>/workspaces/<W>/) are created and wiped at runtime", [nagAreas]);
  allowWildcards(fn, "every revision of the workspace task definition family, in this cluster only", [
    nagArn(stack, "ecs", `task-definition/${r.taskDefinition.family}:*`),
  ]);
  allowWildcards(
    fn,
    "per-permit task roles are created at runtime under this stage's path only; creating or changing one " +
      "requires the workspace permissions boundary (iam:PermissionsBoundary), passing one only to ECS tasks",
    [nagArn(stack, "iam", `role${taskRolePath(stack)}*`, { region: false })],
  );
}

/** Reading a job's log stream and deleting it once stored encrypted (task-events). */
export function grantTaskLogs(fn: lambda.IFunction, stack: Stack, logGroup: logs.ILogGroup): void {
  fn.addToRolePolicy(
    statement({
      sid: "TaskLogStreams",
      actions: ["logs:GetLogEvents", "logs:DeleteLogStream"],
      resources: [
        `arn:${stack.partition}:logs:${stack.region}:${stack.account}:log-group:${logGroup.logGroupName}:log-stream:*`,
      ],
    }),
  );
  allowWildcards(fn, "one log stream per task, created at runtime, in the workspace log group only", [
    nagArn(stack, "logs", `log-group:${nagRef(logGroup)}:log-stream:*`),
  ]);
}

/** One-time expiry schedules in the app's group, which invoke the expiry function as the scheduler role. */
export function grantScheduler(fn: lambda.IFunction, stack: Stack, groupName: string, schedulerRole: iam.IRole): void {
  fn.addToRolePolicy(
    statement({
      sid: "ExpirySchedules",
      actions: ["scheduler:CreateSchedule", "scheduler:UpdateSchedule", "scheduler:DeleteSchedule"],
      resources: [`arn:${stack.partition}:scheduler:${stack.region}:${stack.account}:schedule/${groupName}/*`],
    }),
  );
  allowWildcards(fn, "one schedule per workspace, created at runtime, in this app's schedule group only", [
    nagArn(stack, "scheduler", `schedule/${groupName}/*`),
  ]);
  fn.addToRolePolicy(
    statement({
      sid: "ExpirySchedulerRolePass",
      actions: ["iam:PassRole"],
      resources: [schedulerRole.roleArn],
      conditions: { StringEquals: { "iam:PassedToService": "scheduler.amazonaws.com" } },
    }),
  );
}

/** Invoking the provision function asynchronously (the API's dispatcher). */
export function grantDispatch(fn: lambda.IFunction, provision: lambda.IFunction): void {
  fn.addToRolePolicy(
    statement({ sid: "DispatchProvision", actions: ["lambda:InvokeFunction"], resources: [provision.functionArn] }),
  );
}

/**
 * Workspaces: where jobs run. An ECS cluster (Fargate only), the `workspace` task definition (the workspace
 * image, read-only root file system, awslogs to an encrypted short-lived log group), its execution role, a
 * default task role with no permissions (every RunTask passes the permit's own role instead), and the managed
 * policy that is the permissions boundary of every per-permit task role the runtime creates.
 */
import { Duration, RemovalPolicy } from "aws-cdk-lib";
import * as ecs from "aws-cdk-lib/aws-ecs";
import * as iam from "aws-cdk-lib/aws-iam";
import * as logs from "aws-cdk-lib/aws-logs";
import { type StackContext, use } from "sst/constructs";
import { useProject } from "sst/project.js";
import { Keys } from "./keys";
import { suppress } from "./lib/nag";
import { prefix, workspaceLogGroupName } from "./lib/names";
import { taskRoleBoundary } from "./lib/task-boundary";
import { workspaceImage } from "./lib/workspace-image";
import { Network } from "./network";
import { Storage } from "./storage";

/** The container the runtime overrides (command, environment) in every RunTask. */
export const CONTAINER_NAME = "workspace";
/** awslogs stream prefix: a job's stream is `<prefix>/<container>/<task id>`. */
export const LOG_STREAM_PREFIX = "job";

export function Workspaces({ stack }: StackContext) {
  const { platformKey } = use(Keys);
  const { vpc, s3Endpoint } = use(Network);
  const { buckets } = use(Storage);

  const cluster = new ecs.Cluster(stack, "Cluster", {
    vpc,
    containerInsightsV2: ecs.ContainerInsights.ENABLED,
  });

  // Job output lands here only until the task-events function has stored it, encrypted under the permit key,
  // and deleted the stream: a short retention bounds how long a plaintext copy can exist if that fails.
  const logGroup = new logs.LogGroup(stack, "TaskLogs", {
    logGroupName: workspaceLogGroupName(stack),
    encryptionKey: platformKey,
    retention: logs.RetentionDays.THREE_DAYS,
    removalPolicy: RemovalPolicy.DESTROY,
  });

  const ecsTasks = new iam.ServicePrincipal("ecs-tasks.amazonaws.com", {
    conditions: {
      StringEquals: { "aws:SourceAccount": stack.account },
      ArnLike: { "aws:SourceArn": `arn:${stack.partition}:ecs:${stack.region}:${stack.account}:*` },
    },
  });
  // Pulls the image and writes the logs (CDK grants exactly those when the image and log driver are bound).
  const executionRole = new iam.Role(stack, "TaskExecutionRole", {
    assumedBy: ecsTasks,
    description: "SPE workspace tasks: pull the workspace image, write task logs",
  });
  const boundary = taskRoleBoundary(stack, { workspaces: buckets.workspaces, s3EndpointId: s3Endpoint.vpcEndpointId });
  // A task definition always names a task role; this one can do nothing (no policy, and capped by the boundary
  // anyway). The runtime overrides it per task with the permit's role.
  const defaultTaskRole = new iam.Role(stack, "DefaultTaskRole", {
    assumedBy: ecsTasks,
    description: "SPE workspace tasks: placeholder with no permissions; every task runs with its permit's role",
    permissionsBoundary: boundary,
  });

  const taskDefinition = new ecs.FargateTaskDefinition(stack, "WorkspaceTask", {
    family: `${prefix(stack)}-workspace`,
    // Defaults; the runtime sets cpu and memory per job in the RunTask overrides.
    cpu: 1024,
    memoryLimitMiB: 4096,
    runtimePlatform: {
      cpuArchitecture: ecs.CpuArchitecture.X86_64,
      operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
    },
    executionRole,
    taskRole: defaultTaskRole,
    // Task-scoped scratch volumes on the task's ephemeral storage: the only writable paths of the container.
    volumes: [{ name: "workspace" }, { name: "tmp" }],
  });
  const linuxParameters = new ecs.LinuxParameters(stack, "WorkspaceLinuxParameters", { initProcessEnabled: true });
  // The agent (root) needs CHOWN, DAC_OVERRIDE, FOWNER, SETUID/SETGID and KILL to run the job as uid 1000 and
  // stop it; nothing in a workspace needs raw sockets, device nodes, chroot or file capabilities.
  linuxParameters.dropCapabilities(
    ecs.Capability.NET_RAW,
    ecs.Capability.MKNOD,
    ecs.Capability.SYS_CHROOT,
    ecs.Capability.AUDIT_WRITE,
    ecs.Capability.NET_BIND_SERVICE,
    ecs.Capability.SETFCAP,
  );
  const container = taskDefinition.addContainer(CONTAINER_NAME, {
    containerName: CONTAINER_NAME,
    image: workspaceImage(useProject().paths.root),
    essential: true,
    readonlyRootFilesystem: true,
    linuxParameters,
    stopTimeout: Duration.seconds(30),
    logging: ecs.LogDrivers.awsLogs({ logGroup, streamPrefix: LOG_STREAM_PREFIX }),
  });
  container.addMountPoints(
    { containerPath: "/workspace", sourceVolume: "workspace", readOnly: false },
    { containerPath: "/tmp", sourceVolume: "tmp", readOnly: false },
  );

  suppress(
    executionRole,
    "AwsSolutions-IAM5",
    "ecr:GetAuthorizationToken supports no resource-level permission; the image pull itself is limited to the " +
      "image's repository",
    ["Resource::*"],
  );

  return {
    cluster,
    taskDefinition,
    containerName: CONTAINER_NAME,
    executionRole,
    defaultTaskRole,
    taskRoleBoundary: boundary,
    logGroup,
    logStreamPrefix: LOG_STREAM_PREFIX,
  } as const;
}

/**
 * The AWS composition root shared by every Lambda function: builds each adapter of packages/aws from the
 * deployment's configuration (config.ts) and returns core's Deps plus what only AWS has (the KMS signer,
 * the dispatcher to await, download offloading, the job-log reader). SDK clients are created once per
 * cold start and make no call until used.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { ECSClient } from "@aws-sdk/client-ecs";
import { IAMClient } from "@aws-sdk/client-iam";
import { KMSClient } from "@aws-sdk/client-kms";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { S3Client } from "@aws-sdk/client-s3";
import { SchedulerClient } from "@aws-sdk/client-scheduler";
import {
  type Clock,
  DEFAULT_POLICY,
  type Deps,
  randomIds,
  recordUnexpected,
  type SweepOptions,
  systemClock,
} from "@spe/core";
import type { AwsConfig } from "./config";
import { presignedDownloads } from "./download-offload";
import { DynamoStore } from "./dynamo-store";
import { EcsRuntime } from "./ecs-runtime";
import { KmsKeyService } from "./kms-key-service";
import { KmsSigner } from "./kms-signer";
import { LambdaDispatcher } from "./lambda-dispatcher";
import { S3ObjectStore } from "./s3-object-store";
import { s3Sources } from "./s3-sources";
import { EventBridgeScheduler } from "./scheduler";
import type { TaskLogOptions } from "./task-logs";
import { DynamoWrappedKeyStore } from "./wrapped-key-store";

/** The SDK clients, one per service (tests pass their own, e.g. pointed at mocks or dynalite). */
export interface AwsClients {
  dynamodb: DynamoDBClient;
  s3: S3Client;
  kms: KMSClient;
  ecs: ECSClient;
  iam: IAMClient;
  lambda: LambdaClient;
  scheduler: SchedulerClient;
}

export function defaultClients(): AwsClients {
  return {
    dynamodb: new DynamoDBClient({}),
    s3: new S3Client({}),
    kms: new KMSClient({}),
    ecs: new ECSClient({}),
    // IAM is a global service: its endpoint is the same from every region.
    iam: new IAMClient({}),
    lambda: new LambdaClient({}),
    scheduler: new SchedulerClient({}),
  };
}

export interface AwsDeps {
  deps: Deps;
  store: DynamoStore;
  signer: KmsSigner;
  keys: KmsKeyService;
  runtime: EcsRuntime;
  dispatcher: LambdaDispatcher;
  offloadDownload: ReturnType<typeof presignedDownloads>;
  /** Where job logs are (the task-events function adds its CloudWatch Logs client). */
  taskLogs: Omit<TaskLogOptions, "logs">;
  clients: AwsClients;
}

/** Region, account and partition of the deployment, read from an ARN the stacks created in it. */
export function deploymentOf(arn: string): { partition: string; region: string; accountId: string } {
  const m = /^arn:(aws[a-z-]*):[a-z0-9-]+:([a-z0-9-]+):(\d{12}):/.exec(arn);
  if (!m) throw new Error(`cannot tell the region and account from ${JSON.stringify(arn)}`);
  return { partition: m[1] as string, region: m[2] as string, accountId: m[3] as string };
}

/**
 * How the sweeper runs on AWS (functions/sweep.ts): a workspace still `provisioning` 20 minutes after its
 * launch lost its dispatch (or Lambda's retries ran out), since the provision function times out at 15.
 */
export const AWS_SWEEP: SweepOptions = { resumeProvisioningAfterMs: 20 * 60_000 };

const SYSTEM = (sub: string) => ({ sub, roles: [] });

export interface ComposeOptions {
  clients?: AwsClients;
  clock?: Clock;
  /** Where failures of fire-and-forget work go (the dispatcher's invokes). */
  onError?: (what: string, err: unknown, ctx: Record<string, string>) => void;
  /** How the adapters wait between retries (store, runtime); tests pass one that returns at once. @default setTimeout */
  sleep?: (ms: number) => Promise<void>;
}

export function composeAws(config: AwsConfig, o: ComposeOptions = {}): AwsDeps {
  const clients = o.clients ?? defaultClients();
  const clock = o.clock ?? systemClock;
  const onError = o.onError ?? (() => {});
  const where = deploymentOf(config.SPE_AUDIT_KEY_ARN);
  const sleep = o.sleep;
  const store = new DynamoStore({
    client: clients.dynamodb,
    tableName: config.SPE_TABLE_NAME,
    clock,
    ...(sleep ? { retry: { sleep } } : {}),
  });
  const keys = new KmsKeyService({
    kms: clients.kms,
    store: new DynamoWrappedKeyStore({ client: clients.dynamodb, tableName: config.SPE_TABLE_NAME }),
    stage: config.SPE_STAGE,
    region: where.region,
    accountId: where.accountId,
    partition: where.partition,
    keyAdmins: config.SPE_PERMIT_KEY_PRINCIPALS.admins,
    keyUsers: config.SPE_PERMIT_KEY_PRINCIPALS.users,
    taskRolePath: config.SPE_TASK_ROLE_PATH,
    now: () => clock.now(),
  });
  const permitKeyArn = (permitId: string) => keys.permitKeyAliasArn(permitId);
  const policy = { ...DEFAULT_POLICY, keyGraceDays: config.SPE_KEY_GRACE_DAYS };
  const runtime = new EcsRuntime({
    ecs: clients.ecs,
    s3: clients.s3,
    iam: clients.iam,
    keys: {
      permitKeyAliasArn: permitKeyArn,
      grantWorkspace: async (permitId, workspaceId, roleArn) => {
        await keys.grantWorkspace(permitId, workspaceId, roleArn);
      },
      retireWorkspaceGrants: async (permitId, workspaceId) => {
        await keys.retireWorkspaceGrants(permitId, workspaceId);
      },
    },
    bucket: config.SPE_BUCKET_WORKSPACES,
    cluster: config.SPE_CLUSTER_ARN,
    taskDefinition: config.SPE_TASK_DEFINITION_ARN,
    containerName: config.SPE_CONTAINER_NAME,
    subnets: config.SPE_WORKSPACE_SUBNETS,
    securityGroup: config.SPE_WORKSPACE_SECURITY_GROUP,
    roleBoundaryArn: config.SPE_TASK_ROLE_BOUNDARY_ARN,
    rolePath: config.SPE_TASK_ROLE_PATH,
    stage: config.SPE_STAGE,
    outputsQuotaBytes: policy.outputsQuotaBytes,
    resolveWorkspace: async (id) => {
      const ws = await store.get("workspace", id);
      return ws ? { permitId: ws.item.permitId } : null;
    },
    now: () => clock.now(),
    ...(sleep ? { retry: { sleep }, stopWait: { sleep } } : {}),
  });
  const dispatcher = new LambdaDispatcher({
    client: clients.lambda,
    functionName: config.SPE_PROVISION_FUNCTION_NAME,
    onError: async (err, task) => {
      onError("dispatch", err, { type: task.type, workspaceId: task.workspaceId });
      const ctx = {
        actor: SYSTEM("system:dispatcher"),
        action: "workspace.provision_dispatched",
        target: `workspace/${task.workspaceId}`,
        details: { workspaceId: task.workspaceId },
      };
      await recordUnexpected(store, ctx, err);
    },
  });
  const objects = new S3ObjectStore({
    s3: clients.s3,
    buckets: {
      staging: config.SPE_BUCKET_STAGING,
      outputs: config.SPE_BUCKET_OUTPUTS,
      quarantine: config.SPE_BUCKET_QUARANTINE,
      releases: config.SPE_BUCKET_RELEASES,
    },
    permitKeyArn,
  });
  const deps: Deps = {
    store,
    audit: store,
    clock,
    ids: randomIds,
    sources: s3Sources(clients.s3, config.SPE_DATASET_BUCKETS),
    runtime,
    scheduler: new EventBridgeScheduler({
      client: clients.scheduler,
      group: config.SPE_SCHEDULE_GROUP,
      roleArn: config.SPE_SCHEDULER_ROLE_ARN,
      targetArn: config.SPE_EXPIRE_FUNCTION_ARN,
      stage: config.SPE_STAGE,
      now: () => clock.now(),
    }),
    dispatcher,
    keys,
    objects,
    policy,
  };
  return {
    deps,
    store,
    signer: new KmsSigner({ kms: clients.kms, keyArn: config.SPE_AUDIT_KEY_ARN }),
    keys,
    runtime,
    dispatcher,
    offloadDownload: auditedOffload(
      store,
      presignedDownloads({ s3: clients.s3, bucket: config.SPE_BUCKET_RELEASES, permitKeyArn }),
    ),
    taskLogs: {
      logGroup: config.SPE_WORKSPACE_LOG_GROUP,
      streamPrefix: config.SPE_WORKSPACE_LOG_STREAM_PREFIX,
      containerName: config.SPE_CONTAINER_NAME,
    },
    clients,
  };
}

/**
 * A download whose use was spent (and audited as `egress.downloaded`) but whose copy or presigning failed
 * is recorded as failed too, under the link's requester: the audit trail must not say the bytes left.
 */
function auditedOffload(
  store: DynamoStore,
  offload: ReturnType<typeof presignedDownloads>,
): ReturnType<typeof presignedDownloads> {
  return async (file) => {
    try {
      return await offload(file);
    } catch (err) {
      const grant = (await store.get("download", file.grantId).catch(() => null))?.item;
      const ctx = {
        actor: SYSTEM(grant?.requester ?? "system:downloads"),
        action: "egress.download_offloaded",
        target: grant ? `egress/${grant.egressId}` : "download/*",
        details: { permitId: file.permitId, path: file.path, ...(grant ? { egressId: grant.egressId } : {}) },
      };
      await recordUnexpected(store, ctx, err);
      throw err;
    }
  };
}

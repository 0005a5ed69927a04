/**
 * One AWS deployment in memory, for the end-to-end and fault-injection tests of test/aws: `composeAws`
 * exactly as the Lambda functions call it (functions/lib/aws.ts), over SDK clients backed by dynalite
 * (DynamoDB, a fresh table per world) and the in-memory fakes of packages/aws/src/testing (S3 with KMS
 * enforcement, KMS, Scheduler, Lambda, CloudWatch Logs) and the runtime's fake ECS and IAM. Every AWS call
 * of the controller lands in one ordered call log (calls.ts), which is what the fault tables enumerate.
 * `snapshot` copies the whole deployment (table items and every fake), and `create(dynamo, snapshot)`
 * starts a new deployment from it: the fault tables arrange a state once and run each fault from a copy.
 */
import { createApp } from "@spe/api";
import { type AwsConfig, type AwsDeps, composeAws, readAwsConfig } from "@spe/aws";
import type { Actor, Clock, Deps } from "@spe/core";
import type { LocalDynamo, LocalTable } from "../../../packages/aws/src/dynalite-harness";
import { FakeEcs } from "../../../packages/aws/src/testing/fake-ecs";
import { FakeIam } from "../../../packages/aws/src/testing/fake-iam";
import { FakeKms } from "../../../packages/aws/src/testing/fake-kms";
import { FakeLambda } from "../../../packages/aws/src/testing/fake-lambda";
import { FakeLogs } from "../../../packages/aws/src/testing/fake-logs";
import { FakeS3 } from "../../../packages/aws/src/testing/fake-s3";
import { FakeScheduler } from "../../../packages/aws/src/testing/fake-scheduler";
import { type Item, putItems, scanItems } from "../../../packages/aws/src/testing/table-copy";
import { CallLog } from "./calls";

export const T0 = Date.parse("2026-03-01T10:00:00.000Z");
export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

export const BUCKETS = {
  staging: "spe-test-staging",
  outputs: "spe-test-outputs",
  quarantine: "spe-test-quarantine",
  releases: "spe-test-releases",
  audit: "spe-test-audit",
  workspaces: "spe-test-workspaces",
  holder: "spe-test-holder",
} as const;

const ACCOUNT = "111122223333";
const REGION = "eu-central-1";
export const LOG_GROUP = "/spe/test/workspaces";
export const PROVISION_FUNCTION = "spe-test-provision";

/** The environment the stacks give every function (stacks/*.ts), for this test deployment. */
function environment(tableName: string, auditKeyArn: string): Record<string, string> {
  return {
    SPE_STAGE: "test",
    SPE_TABLE_NAME: tableName,
    SPE_BUCKET_STAGING: BUCKETS.staging,
    SPE_BUCKET_OUTPUTS: BUCKETS.outputs,
    SPE_BUCKET_QUARANTINE: BUCKETS.quarantine,
    SPE_BUCKET_RELEASES: BUCKETS.releases,
    SPE_BUCKET_AUDIT_ARCHIVE: BUCKETS.audit,
    SPE_BUCKET_WORKSPACES: BUCKETS.workspaces,
    SPE_DATASET_BUCKETS: BUCKETS.holder,
    SPE_AUDIT_KEY_ARN: auditKeyArn,
    SPE_CLUSTER_ARN: `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/spe-test`,
    SPE_TASK_DEFINITION_ARN: `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/spe-test-workspace:3`,
    SPE_CONTAINER_NAME: "workspace",
    SPE_WORKSPACE_SUBNETS: "subnet-0aa1,subnet-0bb2",
    SPE_WORKSPACE_SECURITY_GROUP: "sg-0c0ffee",
    SPE_TASK_ROLE_BOUNDARY_ARN: `arn:aws:iam::${ACCOUNT}:policy/spe-test-workspace-boundary`,
    SPE_TASK_ROLE_PATH: "/spe/test/",
    SPE_WORKSPACE_LOG_GROUP: LOG_GROUP,
    SPE_WORKSPACE_LOG_STREAM_PREFIX: "job",
    SPE_SCHEDULE_GROUP: "spe-test",
    SPE_SCHEDULER_ROLE_ARN: `arn:aws:iam::${ACCOUNT}:role/spe-test-scheduler`,
    SPE_EXPIRE_FUNCTION_ARN: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:spe-test-expire`,
    SPE_PROVISION_FUNCTION_NAME: PROVISION_FUNCTION,
    SPE_PERMIT_KEY_PRINCIPALS: JSON.stringify({
      admins: ["api", "provision", "expire", "sweep"].map((k) => `arn:aws:iam::${ACCOUNT}:role/spe-test-fn-${k}`),
      users: [`arn:aws:iam::${ACCOUNT}:role/spe-test-fn-task-events`],
    }),
    SPE_JWT_ISSUER: `https://cognito-idp.${REGION}.amazonaws.com/${REGION}_test`,
    SPE_JWT_JWKS_URL: `https://cognito-idp.${REGION}.amazonaws.com/${REGION}_test/.well-known/jwks.json`,
  };
}

export const ACTORS = {
  admin: { sub: "ana", roles: ["admin"] },
  alice: { sub: "alice", roles: ["researcher"] },
  reviewer: { sub: "rui", roles: ["reviewer"] },
  auditor: { sub: "otto", roles: ["auditor"] },
} as const satisfies Record<string, Actor>;

/** A whole deployment's state: what `AwsWorld.create` can start from. */
export interface WorldSnapshot {
  items: Item[];
  t: number;
  auditKeyArn: string;
  s3: ReturnType<FakeS3["snapshot"]>;
  kms: ReturnType<FakeKms["snapshot"]>;
  ecs: ReturnType<FakeEcs["snapshot"]>;
  iam: ReturnType<FakeIam["snapshot"]>;
  scheduler: ReturnType<FakeScheduler["snapshot"]>;
  lambda: ReturnType<FakeLambda["snapshot"]>;
  logs: ReturnType<FakeLogs["snapshot"]>;
}

export class TestClock implements Clock {
  t = T0;
  now(): Date {
    return new Date(this.t);
  }
}

export class AwsWorld {
  readonly clock = new TestClock();
  readonly calls = new CallLog();
  /** Failures of fire-and-forget work (the dispatcher's invokes), as the composition root reports them. */
  readonly backgroundErrors: { what: string; err: unknown }[] = [];
  readonly a: AwsDeps;
  readonly config: AwsConfig;

  private constructor(
    readonly table: LocalTable,
    readonly s3: FakeS3,
    readonly kms: FakeKms,
    readonly ecs: FakeEcs,
    readonly iam: FakeIam,
    readonly scheduler: FakeScheduler,
    readonly lambda: FakeLambda,
    readonly logs: FakeLogs,
    readonly auditKeyArn: string,
  ) {
    this.config = readAwsConfig(environment(table.tableName, auditKeyArn));
    this.calls.watch("s3", s3.faults);
    this.calls.watch("kms", kms.faults);
    this.calls.watch("ecs", ecs.faults);
    this.calls.watch("iam", iam.faults);
    this.calls.watch("scheduler", scheduler.faults);
    this.calls.watch("lambda", lambda.faults);
    this.calls.watch("logs", logs.faults);
    this.calls.watchDynamo(table.client);
    this.a = composeAws(this.config, {
      clients: {
        dynamodb: table.client,
        s3: s3.client,
        kms: kms.client,
        ecs: ecs.client,
        iam: iam.client,
        lambda: lambda.client,
        scheduler: scheduler.client,
      },
      clock: this.clock,
      onError: (what, err) => this.backgroundErrors.push({ what, err }),
      sleep: async () => {},
    });
  }

  /**
   * A deployment over a fresh table of `dynamo`: new, with the audit signing key the stacks create, or a
   * copy of `from`. Its adapters are composed afresh (as in a new Lambda instance: no cache carried over).
   */
  static async create(dynamo: LocalDynamo, from?: WorldSnapshot): Promise<AwsWorld> {
    const kms = new FakeKms();
    const s3 = new FakeS3(Object.values(BUCKETS), { kms });
    const ecs = new FakeEcs(ACCOUNT);
    const iam = new FakeIam(ACCOUNT);
    const scheduler = new FakeScheduler();
    const lambda = new FakeLambda([PROVISION_FUNCTION]);
    const logs = new FakeLogs(LOG_GROUP);
    const table = await dynamo.createTable();
    let auditKeyArn: string;
    if (from) {
      await putItems(table.raw, table.tableName, from.items);
      s3.restore(from.s3);
      kms.restore(from.kms);
      ecs.restore(from.ecs);
      iam.restore(from.iam);
      scheduler.restore(from.scheduler);
      lambda.restore(from.lambda);
      logs.restore(from.logs);
      auditKeyArn = from.auditKeyArn;
    } else {
      auditKeyArn = await kms.createSigningKey("spe-test audit");
    }
    const w = new AwsWorld(table, s3, kms, ecs, iam, scheduler, lambda, logs, auditKeyArn);
    if (from) w.clock.t = from.t;
    return w;
  }

  /** Every item of the table, as stored (also the images its stream would carry). */
  items(): Promise<Item[]> {
    return scanItems(this.table.raw, this.table.tableName);
  }

  /** The whole deployment's state, for `create(dynamo, snapshot)`. */
  async snapshot(): Promise<WorldSnapshot> {
    return {
      items: await this.items(),
      t: this.clock.t,
      auditKeyArn: this.auditKeyArn,
      s3: this.s3.snapshot(),
      kms: this.kms.snapshot(),
      ecs: this.ecs.snapshot(),
      iam: this.iam.snapshot(),
      scheduler: this.scheduler.snapshot(),
      lambda: this.lambda.snapshot(),
      logs: this.logs.snapshot(),
    };
  }

  get deps(): Deps {
    return this.a.deps;
  }

  /** Where job logs are, with this world's CloudWatch Logs client (as functions/task-events.ts adds its own). */
  get taskLogs() {
    return { ...this.a.taskLogs, logs: this.logs.client, retry: { sleep: async () => {} } };
  }

  /** The HTTP API as functions/api.ts builds it: downloads offloaded to presigned S3 GETs. */
  app() {
    const tokens = new Map<string, Actor>(Object.entries(ACTORS).map(([k, v]) => [`token-${k}`, v]));
    return createApp({
      ...this.a.deps,
      signer: this.a.signer,
      verifyToken: async (token) => {
        const actor = tokens.get(token);
        if (!actor) throw new Error("unknown token");
        return actor;
      },
      log: () => {},
      offloadDownload: this.a.offloadDownload,
    });
  }
}

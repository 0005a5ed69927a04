/**
 * Template assertions on the seven functions (Lifecycle, Audit and Api stacks) and what triggers them: runtime,
 * architecture, the full AwsEnv environment, encrypted expiring logs, and least privilege: each function's
 * policy is exactly the capabilities it needs (by statement Sid), and the sensitive actions appear only where
 * they belong. Plus the expiry scheduler, the sweeper and seal schedules, the ECS rule and the audit stream.
 */
import type { Template } from "aws-cdk-lib/assertions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AwsEnv } from "../../packages/aws/src/config";
import { AUDIT_PK, SEAL_PK } from "../../packages/aws/src/dynamo-items";
import { ARCHIVED_PARTITIONS } from "../../stacks/audit";
import { CAPABILITIES, FUNCTIONS, type FunctionKey, functionIn } from "./capabilities";
import {
  type Cfn,
  functionRoleId,
  only,
  type Resource,
  render,
  resources,
  roleStatements,
  type Synthesized,
  synthesize,
} from "./synth";

let synth: Synthesized;
let lifecycle: Template;
let audit: Template;

beforeAll(async () => {
  synth = await synthesize();
  ({ Lifecycle: lifecycle, Audit: audit } = synth.templates);
}, 120_000);
afterAll(() => synth?.cleanup());

const fn = (key: FunctionKey) => functionIn(synth.templates, key);

describe("every function", () => {
  it.each(FUNCTIONS)("%s runs on nodejs22.x, arm64, from a real bundle, outside any VPC, with a fixed name", (key) => {
    const { resource } = fn(key);
    expect(resource.Properties).toMatchObject({
      Runtime: "nodejs22.x",
      Architectures: ["arm64"],
      FunctionName: `spe-test-${key}`,
      Handler: `functions/${key}.handler`,
    });
    expect(resource.Properties.Code).toHaveProperty("S3Key");
    expect(resource.Properties.Code).not.toHaveProperty("ZipFile");
    expect(resource.Properties).not.toHaveProperty("VpcConfig");
    expect(resource.Properties.TracingConfig).toBeUndefined();
  });

  it.each(FUNCTIONS)("%s gets every AwsEnv variable (packages/aws/src/config.ts)", (key) => {
    const env = fn(key).resource.Properties.Environment.Variables as Record<string, Cfn>;
    for (const name of Object.keys(AwsEnv.shape)) expect(env, name).toHaveProperty(name);
    expect(env).toMatchObject({
      SPE_STAGE: "test",
      SPE_CONTAINER_NAME: "workspace",
      SPE_TASK_ROLE_PATH: "/spe/test/",
      SPE_DATASET_BUCKETS: "hospital-a-datasets,registry-b-exports",
      SPE_SCHEDULE_GROUP: "spe-test",
      SPE_PROVISION_FUNCTION_NAME: "spe-test-provision",
      SPE_WORKSPACE_LOG_STREAM_PREFIX: "job",
      SPE_KEY_GRACE_DAYS: "30",
    });
    expect(render(env.SPE_EXPIRE_FUNCTION_ARN)).toBe("arn:aws:lambda:eu-west-1:123456789012:function:spe-test-expire");
    // The family without a revision: a string, not an export that every new image revision would change.
    expect(render(env.SPE_TASK_DEFINITION_ARN)).toBe(
      "arn:aws:ecs:eu-west-1:123456789012:task-definition/spe-test-workspace",
    );
    expect(render(env.SPE_JWT_ISSUER)).toMatch(
      /^https:\/\/cognito-idp\.eu-west-1\.amazonaws\.com\/<import:.*UserPool.*>$/,
    );
    expect(render(env.SPE_WORKSPACE_SUBNETS).split(",")).toHaveLength(2);
  });

  it.each(FUNCTIONS)("%s logs to its own log group, encrypted with the platform key, kept 90 days", (key) => {
    const { resource, template } = fn(key);
    const logsId = resource.Properties.LoggingConfig.LogGroup.Ref;
    const logs = template.toJSON().Resources[logsId] as Resource;
    expect(logs.Properties).toMatchObject({ LogGroupName: `/aws/lambda/spe-test-${key}`, RetentionInDays: 90 });
    expect(render(logs.Properties.KmsKeyId)).toMatch(/^<import:test-spe-controller-Keys:.*PlatformKey.*>$/);
  });

  it.each(FUNCTIONS)("%s has exactly its capabilities, each statement labelled, no AWS managed policy", (key) => {
    const { resource, statements, template } = fn(key);
    const sids = statements.map((s) => s.Sid);
    expect(
      sids.every((s) => typeof s === "string"),
      `${key}: unlabelled statement`,
    ).toBe(true);
    expect(sids.sort()).toEqual(["OwnLogs", ...CAPABILITIES[key]].sort());
    const role = template.toJSON().Resources[functionRoleId(resource)] as Resource;
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    for (const s of statements) {
      expect(s.Effect, `${key} ${s.Sid}`).toBe("Allow");
      for (const action of [s.Action].flat() as string[]) expect(action, `${key} ${s.Sid}`).not.toMatch(/(^\*$|:\*$)/);
    }
  });
});

describe("least privilege on the sensitive actions", () => {
  const all = () => FUNCTIONS.flatMap((key) => fn(key).statements.map((s) => ({ key, s })));
  const holders = (action: string) =>
    [
      ...new Set(
        all()
          .filter(({ s }) => [s.Action].flat().includes(action))
          .map(({ key }) => key),
      ),
    ].sort();

  it("lets only seal-audit sign with the audit key, and only the API verify", () => {
    expect(holders("kms:Sign")).toEqual(["seal-audit"]);
    expect(holders("kms:Verify")).toEqual(["api"]);
    const sign = fn("seal-audit").statements.find((s) => s.Sid === "AuditSign");
    expect(render(sign.Resource)).toMatch(/^<import:test-spe-controller-Keys:.*AuditSigningKey.*>$/);
  });

  it("lets a function create a role only with the workspace boundary, under /spe/<stage>/, passed only to ECS", () => {
    // Only provisioning starts workspaces: only it creates task roles; the others may delete a shredded permit's.
    expect(holders("iam:CreateRole")).toEqual(["provision"]);
    expect(holders("iam:PutRolePolicy")).toEqual(["provision"]);
    expect(holders("iam:DeleteRole")).toEqual(["api", "expire", "provision", "sweep"]);
    for (const key of ["api", "provision", "expire", "sweep"] as const) {
      const { statements } = fn(key);
      for (const s of statements.filter((x) => [x.Action].flat().some((a: string) => a.startsWith("iam:")))) {
        for (const r of [s.Resource].flat().map(render)) {
          expect(r, `${key} ${s.Sid}`).toMatch(
            /^(arn:aws:iam::123456789012:role\/spe\/test\/\*|<import:.*(TaskExecutionRole|DefaultTaskRole|ExpirySchedulerRole).*>|<ExpirySchedulerRole[0-9A-F]{8}\.Arn>)$/,
          );
        }
      }
      for (const sid of key === "provision" ? ["TaskRolesCreate", "TaskRolesCleanup"] : ["TaskRolesCleanup"]) {
        const bounded = statements.find((s) => s.Sid === sid);
        expect(render(bounded.Condition.StringEquals["iam:PermissionsBoundary"]), sid).toMatch(
          /^<import:test-spe-controller-Workspaces:ExportsOutputRefTaskRoleBoundary.*>$/,
        );
      }
      const pass = statements.find((s) => s.Sid === "TaskRolesPass");
      expect(pass.Condition).toEqual({ StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } });
      expect(pass.Resource.map(render)).toEqual([
        "arn:aws:iam::123456789012:role/spe/test/*",
        expect.stringMatching(/^<import:.*TaskExecutionRole.*>$/),
        expect.stringMatching(/^<import:.*DefaultTaskRole.*>$/),
      ]);
    }
    // Nobody may remove or replace a boundary, or touch other roles' policies.
    for (const action of [
      "iam:DeleteRolePermissionsBoundary",
      "iam:PutRolePermissionsBoundary",
      "iam:AttachRolePolicy",
    ]) {
      expect(holders(action), action).toEqual([]);
    }
  });

  it("grants no KMS permission on a key by a tag, no kms:TagResource, nothing on key/*: permit keys are key-policy only", () => {
    for (const { key, s } of all()) {
      const actions = [s.Action].flat() as string[];
      if (!actions.some((a) => a.startsWith("kms:"))) continue;
      const conditionKeys = Object.values((s.Condition ?? {}) as Record<string, Record<string, unknown>>).flatMap((c) =>
        Object.keys(c),
      );
      expect(
        conditionKeys.filter((c) => /^aws:(ResourceTag|RequestTag|TagKeys)/.test(c)),
        `${key} ${s.Sid}`,
      ).toEqual([]);
      for (const r of [s.Resource].flat().map(render)) expect(r, `${key} ${s.Sid}`).not.toMatch(/:key\/\*$/);
    }
    for (const action of [
      "kms:TagResource",
      "kms:UntagResource",
      "kms:PutKeyPolicy",
      "kms:CreateGrant",
      "kms:ScheduleKeyDeletion",
      "kms:CancelKeyDeletion",
      "kms:ListGrants",
      "kms:RevokeGrant",
    ]) {
      expect(holders(action), action).toEqual([]);
    }
  });

  it("lets the key-managing functions create symmetric encryption keys and alias them under this stage only", () => {
    expect(holders("kms:CreateKey")).toEqual(["api", "expire", "provision", "sweep"]);
    for (const key of ["api", "provision", "expire", "sweep"] as const) {
      const byId = (sid: string) => fn(key).statements.find((s) => s.Sid === sid);
      expect(byId("PermitKeysCreate"), key).toEqual({
        Sid: "PermitKeysCreate",
        Effect: "Allow",
        Action: "kms:CreateKey",
        Resource: "*",
        Condition: { StringEquals: { "kms:KeySpec": "SYMMETRIC_DEFAULT", "kms:KeyUsage": "ENCRYPT_DECRYPT" } },
      });
      const aliases = byId("PermitKeyAliases");
      expect(aliases.Action, key).toEqual(["kms:CreateAlias", "kms:DeleteAlias"]);
      expect(render(aliases.Resource), key).toBe("arn:aws:kms:eu-west-1:123456789012:alias/spe-test/permit/*");
    }
    // The functions that only read (task-events) or have nothing to do with permit keys hold no KMS action on them.
    expect(holders("kms:CreateAlias")).toEqual(["api", "expire", "provision", "sweep"]);
  });

  it("names every function role spe-<stage>-fn-<key>, and the permit key principals are exactly those roles", () => {
    const principals = (key: FunctionKey) =>
      JSON.parse(render(fn(key).resource.Properties.Environment.Variables.SPE_PERMIT_KEY_PRINCIPALS));
    const arn = (k: FunctionKey) => `arn:aws:iam::123456789012:role/spe-test-fn-${k}`;
    for (const key of FUNCTIONS) {
      const { resource, template } = fn(key);
      const role = template.toJSON().Resources[functionRoleId(resource)] as Resource;
      expect(role.Properties.RoleName, key).toBe(`spe-test-fn-${key}`);
      expect(role.Properties).not.toHaveProperty("Path");
      // The key service of every function names the same principals (any of them may create a key).
      expect(principals(key), key).toEqual({
        admins: (["api", "provision", "expire", "sweep"] as const).map(arn),
        users: [arn("task-events")],
      });
    }
    // Admins are exactly the functions that may create keys: no key is created that its creator cannot manage.
    expect(principals("api").admins).toEqual(
      (["api", "provision", "expire", "sweep"] as const).filter((k) => holders("kms:CreateKey").includes(k)).map(arn),
    );
  });

  it("uses the platform key only through DynamoDB, S3 or SQS, or for the console's key in its own context", () => {
    for (const { key, s } of all()) {
      const resourcesOf = [s.Resource].flat().map(render);
      if (!resourcesOf.some((r) => /PlatformKey/.test(r))) continue;
      if (s.Sid === "ConsoleSessionKey") {
        // Only the API, only to make and unwrap the console's session-cookie key, only in that encryption context.
        expect(key).toBe("api");
        expect(s.Action).toEqual(["kms:GenerateDataKey", "kms:Decrypt"]);
        expect(s.Condition).toEqual({ StringEquals: { "kms:EncryptionContext:spe:purpose": "console-session" } });
        continue;
      }
      expect(Object.keys(s.Condition?.StringEquals ?? {}), `${key} ${s.Sid}`).toEqual(["kms:ViaService"]);
    }
  });

  it("runs and stops tasks of this cluster only, from the workspace family only", () => {
    const { statements } = fn("api");
    const run = statements.find((s) => s.Sid === "RuntimeRunTask");
    expect(run.Resource.map(render)).toEqual([
      "arn:aws:ecs:eu-west-1:123456789012:task-definition/spe-test-workspace",
      "arn:aws:ecs:eu-west-1:123456789012:task-definition/spe-test-workspace:*",
    ]);
    for (const sid of ["RuntimeRunTask", "RuntimeStopTask", "RuntimeTasksRead", "RuntimeTasksList"]) {
      const s = statements.find((x) => x.Sid === sid);
      expect(render(s.Condition.ArnEquals["ecs:cluster"]), sid).toMatch(/^<import:.*Cluster.*>$/);
    }
  });

  it("reads the dataset buckets from deploy-time configuration, read-only, for staging and source checks only", () => {
    expect(holders("s3:GetObject").length).toBeGreaterThan(2);
    for (const key of FUNCTIONS) {
      const sources = fn(key).statements.filter((s) => /^Sources/.test(s.Sid));
      if (!["api", "provision"].includes(key)) {
        expect(sources, key).toEqual([]);
        continue;
      }
      expect(sources.flatMap((s) => [s.Action].flat()).sort(), key).toEqual(["s3:GetObject", "s3:ListBucket"]);
      expect(sources.flatMap((s) => [s.Resource].flat().map(render)).sort(), key).toEqual(
        [
          "arn:aws:s3:::hospital-a-datasets",
          "arn:aws:s3:::hospital-a-datasets/*",
          "arn:aws:s3:::registry-b-exports",
          "arn:aws:s3:::registry-b-exports/*",
        ].sort(),
      );
    }
  });

  it("lets archive-audit only put into the archive: no read, no delete, no retention change", () => {
    const actions = fn("archive-audit").statements.flatMap((s) => [s.Action].flat());
    expect(actions.filter((a: string) => a.startsWith("s3:"))).toEqual(["s3:PutObject"]);
    for (const key of FUNCTIONS) {
      for (const s of fn(key).statements) {
        if (
          ![s.Resource]
            .flat()
            .map(render)
            .some((r) => /AuditArchive/.test(r))
        )
          continue;
        expect([s.Action].flat(), `${key} ${s.Sid}`).toEqual(["s3:PutObject"]);
      }
    }
  });
});

describe("Lifecycle stack: triggers", () => {
  it("has a schedule group and a scheduler role that may invoke the expire function and nothing else", () => {
    const [groupId, group] = only(lifecycle, "AWS::Scheduler::ScheduleGroup");
    expect(group.Properties.Name).toBe("spe-test");
    const roles = resources(lifecycle, "AWS::IAM::Role").filter(([, r]) =>
      JSON.stringify(r.Properties.AssumeRolePolicyDocument).includes("scheduler.amazonaws.com"),
    );
    expect(roles).toHaveLength(1);
    const [roleId, role] = roles[0]!;
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Action: "sts:AssumeRole",
        Effect: "Allow",
        Principal: { Service: "scheduler.amazonaws.com" },
        Condition: {
          StringEquals: { "aws:SourceAccount": "123456789012" },
          ArnEquals: { "aws:SourceArn": { "Fn::GetAtt": [groupId, "Arn"] } },
        },
      },
    ]);
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    expect(roleStatements(lifecycle, roleId)).toEqual([
      {
        Sid: "InvokeExpireOnly",
        Effect: "Allow",
        Action: "lambda:InvokeFunction",
        Resource: { "Fn::GetAtt": [fn("expire").id, "Arn"] },
      },
    ]);
    // The functions that schedule may pass this role, and only to the scheduler.
    for (const key of ["api", "expire", "sweep"] as const) {
      const pass = fn(key).statements.find((s) => s.Sid === "ExpirySchedulerRolePass");
      expect(pass.Condition, key).toEqual({ StringEquals: { "iam:PassedToService": "scheduler.amazonaws.com" } });
      const schedules = fn(key).statements.find((s) => s.Sid === "ExpirySchedules");
      expect(render(schedules.Resource), key).toBe("arn:aws:scheduler:eu-west-1:123456789012:schedule/spe-test/*");
    }
  });

  it("never lets Lambda retry a provision run (two runs of one workspace must not overlap: the sweeper retries)", () => {
    const configs = resources(lifecycle, "AWS::Lambda::EventInvokeConfig");
    const provision = configs.find(([, c]) => render(c.Properties.FunctionName).includes(fn("provision").id));
    expect(provision?.[1].Properties).toMatchObject({ MaximumRetryAttempts: 0, Qualifier: "$LATEST" });
  });

  it("runs the sweeper every 5 minutes", () => {
    const rules = resources(lifecycle, "AWS::Events::Rule").filter(([, r]) => r.Properties.ScheduleExpression);
    expect(rules.map(([, r]) => [r.Properties.ScheduleExpression, r.Properties.Targets[0].Arn])).toEqual([
      ["rate(5 minutes)", { "Fn::GetAtt": [fn("sweep").id, "Arn"] }],
    ]);
  });

  it("sends STOPPED task-state changes of this cluster only to task-events, with retries and an encrypted DLQ", () => {
    const rules = resources(lifecycle, "AWS::Events::Rule").filter(([, r]) => r.Properties.EventPattern);
    expect(rules).toHaveLength(1);
    const { EventPattern: pattern, Targets: targets } = rules[0]![1].Properties;
    expect(pattern).toEqual({
      source: ["aws.ecs"],
      "detail-type": ["ECS Task State Change"],
      detail: { clusterArn: [expect.anything()], lastStatus: ["STOPPED"] },
    });
    expect(render(pattern.detail.clusterArn[0])).toMatch(/^<import:test-spe-controller-Workspaces:.*Cluster.*Arn.*>$/);
    expect(targets).toHaveLength(1);
    const [queueId, queue] = only(lifecycle, "AWS::SQS::Queue");
    expect(targets[0]).toMatchObject({
      Arn: { "Fn::GetAtt": [fn("task-events").id, "Arn"] },
      DeadLetterConfig: { Arn: { "Fn::GetAtt": [queueId, "Arn"] } },
      RetryPolicy: { MaximumEventAgeInSeconds: 86400, MaximumRetryAttempts: 185 },
    });
    expect(render(queue.Properties.KmsMasterKeyId)).toMatch(/PlatformKey/);
  });

  it("gives provision 15 minutes and memory for streaming; the others less", () => {
    expect(fn("provision").resource.Properties).toMatchObject({ Timeout: 900, MemorySize: 2048 });
    expect(fn("api").resource.Properties.Timeout).toBeLessThan(30);
    expect(fn("sweep").resource.Properties.Timeout).toBeLessThan(300);
  });
});

describe("Audit stack: archive and seals", () => {
  it("feeds archive-audit from the table's stream: audit inserts only, in order, bisecting, to an encrypted DLQ", () => {
    const [mappingId, mapping] = only(audit, "AWS::Lambda::EventSourceMapping");
    const [queueId, queue] = only(audit, "AWS::SQS::Queue");
    expect(mapping.Properties).toMatchObject({
      FunctionName: { Ref: fn("archive-audit").id },
      StartingPosition: "TRIM_HORIZON",
      BatchSize: 100,
      ParallelizationFactor: 1,
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 10,
      MaximumRecordAgeInSeconds: 86400,
      DestinationConfig: { OnFailure: { Destination: { "Fn::GetAtt": [queueId, "Arn"] } } },
    });
    expect(render(mapping.Properties.EventSourceArn)).toMatch(/^<import:test-spe-controller-State:.*StreamArn.*>$/);
    expect(mapping.Properties.FilterCriteria.Filters.map((f: Cfn) => JSON.parse(f.Pattern))).toEqual([
      { eventName: ["INSERT"], dynamodb: { NewImage: { pk: { S: ["audit", "audit#seal"] } } } },
      // Updates and deletions of (append-only) records and seals: archived as evidence of tampering.
      { eventName: ["MODIFY", "REMOVE"], dynamodb: { Keys: { pk: { S: ["audit", "audit#seal"] } } } },
    ]);
    expect(render(queue.Properties.KmsMasterKeyId)).toMatch(/PlatformKey/);
    // Lambda checks the role's stream permissions when it creates the mapping: the policy must exist first.
    const roleId = functionRoleId(fn("archive-audit").resource);
    const policyId = resources(audit, "AWS::IAM::Policy").find(([, p]) => p.Properties.Roles[0].Ref === roleId)![0];
    expect(audit.toJSON().Resources[mappingId].DependsOn).toEqual(expect.arrayContaining([roleId, policyId]));
  });

  it("alarms on every dead-letter queue: a failed delivery is a gap someone must redrive within 14 days", () => {
    for (const [name, t] of Object.entries(synth.templates)) {
      const alarms = resources(t, "AWS::CloudWatch::Alarm").map(([, a]) => a.Properties);
      for (const [queueId] of resources(t, "AWS::SQS::Queue")) {
        const alarm = alarms.find((a) =>
          (a.Dimensions ?? []).some((d: Cfn) => JSON.stringify(d.Value).includes(queueId)),
        );
        expect(alarm, `${name}/${queueId}`).toMatchObject({
          MetricName: "ApproximateNumberOfMessagesVisible",
          Threshold: 1,
          ComparisonOperator: "GreaterThanOrEqualToThreshold",
        });
      }
    }
  });

  it("filters on the partition keys the DynamoDB store really writes audit records and seals under", () => {
    expect([...ARCHIVED_PARTITIONS].sort()).toEqual([AUDIT_PK, SEAL_PK].sort());
  });

  it("seals the chain every hour, on the hour", () => {
    const [, rule] = only(audit, "AWS::Events::Rule");
    expect(rule.Properties.ScheduleExpression).toBe("cron(0 * * * ? *)");
    expect(rule.Properties.Targets.map((t: Cfn) => t.Arn)).toEqual([{ "Fn::GetAtt": [fn("seal-audit").id, "Arn"] }]);
  });
});

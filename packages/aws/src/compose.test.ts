import { describe, expect, it } from "vitest";
import { composeAws, deploymentOf } from "./compose";
import { readAwsConfig } from "./config";

const env: Record<string, string> = {
  SPE_STAGE: "test",
  SPE_TABLE_NAME: "spe-test-table",
  SPE_BUCKET_STAGING: "spe-test-staging",
  SPE_BUCKET_OUTPUTS: "spe-test-outputs",
  SPE_BUCKET_QUARANTINE: "spe-test-quarantine",
  SPE_BUCKET_RELEASES: "spe-test-releases",
  SPE_BUCKET_AUDIT_ARCHIVE: "spe-test-audit",
  SPE_BUCKET_WORKSPACES: "spe-test-workspaces",
  SPE_DATASET_BUCKETS: "holder-a, holder-b",
  SPE_AUDIT_KEY_ARN: "arn:aws:kms:eu-west-1:123456789012:key/0000",
  SPE_CLUSTER_ARN: "arn:aws:ecs:eu-west-1:123456789012:cluster/spe-test",
  SPE_TASK_DEFINITION_ARN: "arn:aws:ecs:eu-west-1:123456789012:task-definition/spe-test-workspace:3",
  SPE_WORKSPACE_SUBNETS: "subnet-0a,subnet-0b",
  SPE_WORKSPACE_SECURITY_GROUP: "sg-0123",
  SPE_TASK_ROLE_BOUNDARY_ARN: "arn:aws:iam::123456789012:policy/spe-test-boundary",
  SPE_TASK_ROLE_PATH: "/spe/test/",
  SPE_WORKSPACE_LOG_GROUP: "/spe/test/workspaces",
  SPE_SCHEDULE_GROUP: "spe-test",
  SPE_SCHEDULER_ROLE_ARN: "arn:aws:iam::123456789012:role/spe-test-scheduler",
  SPE_EXPIRE_FUNCTION_ARN: "arn:aws:lambda:eu-west-1:123456789012:function:spe-test-expire",
  SPE_PROVISION_FUNCTION_NAME: "spe-test-provision",
  SPE_PERMIT_KEY_PRINCIPALS: JSON.stringify({
    admins: ["arn:aws:iam::123456789012:role/spe-test-fn-api", "arn:aws:iam::123456789012:role/spe-test-fn-sweep"],
    users: ["arn:aws:iam::123456789012:role/spe-test-fn-task-events"],
  }),
  SPE_JWT_ISSUER: "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc",
  SPE_JWT_JWKS_URL: "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc/.well-known/jwks.json",
};

describe("the AWS composition root", () => {
  it("reads the environment the stacks set, with defaults and lists", () => {
    const c = readAwsConfig(env);
    expect(c.SPE_DATASET_BUCKETS).toEqual(["holder-a", "holder-b"]);
    expect(c.SPE_WORKSPACE_SUBNETS).toEqual(["subnet-0a", "subnet-0b"]);
    expect(c.SPE_KEY_GRACE_DAYS).toBe(30);
    expect(c.SPE_CONTAINER_NAME).toBe("workspace");
    expect(c.SPE_WORKSPACE_LOG_STREAM_PREFIX).toBe("job");
    expect(c.SPE_PERMIT_KEY_PRINCIPALS.users).toEqual(["arn:aws:iam::123456789012:role/spe-test-fn-task-events"]);
  });

  it("refuses permit key principals that are not JSON, not role ARNs, or name no admin", () => {
    const principals = (v: string) => () => readAwsConfig({ ...env, SPE_PERMIT_KEY_PRINCIPALS: v });
    expect(principals("arn:aws:iam::123456789012:role/x")).toThrow(/SPE_PERMIT_KEY_PRINCIPALS \(not JSON\)/);
    expect(principals(JSON.stringify({ admins: [], users: [] }))).toThrow(/SPE_PERMIT_KEY_PRINCIPALS/);
    expect(principals(JSON.stringify({ admins: ["*"], users: [] }))).toThrow(/SPE_PERMIT_KEY_PRINCIPALS/);
    expect(principals(JSON.stringify({ admins: ["arn:aws:iam::123456789012:role/a"], users: [], x: 1 }))).toThrow(
      /SPE_PERMIT_KEY_PRINCIPALS/,
    );
  });

  it("names every missing or malformed variable at once", () => {
    const { SPE_TABLE_NAME: _, ...rest } = env;
    expect(() => readAwsConfig({ ...rest, SPE_AUDIT_KEY_ARN: "key/0000", SPE_KEY_GRACE_DAYS: "365" })).toThrow(
      /SPE_TABLE_NAME .*SPE_AUDIT_KEY_ARN .*SPE_KEY_GRACE_DAYS .*stacks/,
    );
  });

  it("composes every port without calling AWS, for the deployment's account and region", () => {
    const a = composeAws(readAwsConfig(env));
    expect(a.deps.runtime.isolation).toBe("fargate");
    expect(a.deps.policy.keyGraceDays).toBe(30);
    expect(a.keys.permitKeyAliasArn("P-1")).toBe("arn:aws:kms:eu-west-1:123456789012:alias/spe-test/permit/P-1");
    // A principal of another account than the deployment's is refused when the key service is built.
    const foreign = JSON.stringify({ admins: ["arn:aws:iam::999999999999:role/spe-test-fn-api"], users: [] });
    expect(() => composeAws(readAwsConfig({ ...env, SPE_PERMIT_KEY_PRINCIPALS: foreign }))).toThrow(
      /account 123456789012/,
    );
    expect(a.taskLogs).toMatchObject({
      logGroup: "/spe/test/workspaces",
      streamPrefix: "job",
      containerName: "workspace",
    });
    expect(deploymentOf("arn:aws-cn:kms:cn-north-1:123456789012:key/x")).toEqual({
      partition: "aws-cn",
      region: "cn-north-1",
      accountId: "123456789012",
    });
    expect(() => deploymentOf("key/x")).toThrow(/cannot tell/);
  });
});

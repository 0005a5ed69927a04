/**
 * The permit key policy (kms-key-policy.ts): the exact document KmsKeyService creates every key with, who may
 * do what, and the inputs it refuses.
 */
import { describe, expect, it } from "vitest";
import { permitKeyPolicy } from "./kms-key-policy";
import { KmsKeyService } from "./kms-key-service";
import { FAKE_ACCOUNT, FAKE_KEY_ADMINS, FAKE_KEY_USERS, FAKE_REGION, FakeKms } from "./testing/fake-kms";
import { MemoryWrappedKeyStore } from "./wrapped-key-store";

function setup() {
  const kms = new FakeKms();
  const keys = new KmsKeyService({
    kms: kms.client,
    store: new MemoryWrappedKeyStore(),
    stage: "test",
    region: FAKE_REGION,
    accountId: FAKE_ACCOUNT,
    keyAdmins: FAKE_KEY_ADMINS,
    keyUsers: FAKE_KEY_USERS,
  });
  return { kms, keys };
}

const role = (name: string, account = "123456789012") => `arn:aws:iam::${account}:role/${name}`;
const base = {
  partition: "aws",
  accountId: "123456789012",
  stage: "prod",
  keyAdmins: [role("spe-prod-fn-sweep"), role("spe-prod-fn-api"), role("spe-prod-fn-api")],
  keyUsers: [role("spe-prod-fn-task-events")],
  taskRolePath: "/spe/prod/",
};

describe("permitKeyPolicy", () => {
  it("gives each key a policy naming exactly the function roles, with grants only to task roles", async () => {
    const { kms, keys } = setup();
    await keys.createPermitKey("pmt-1");
    const create = kms.faults.calls.find((c) => c.command === "CreateKey")?.input as { Policy: string };
    const role = (k: string) => `arn:aws:iam::${FAKE_ACCOUNT}:role/spe-test-fn-${k}`;
    const admins = [role("api"), role("provision")];
    expect(JSON.parse(create.Policy)).toEqual({
      Version: "2012-10-17",
      Id: "spe-test-permit-key",
      Statement: [
        {
          Sid: "AccountAdministers",
          Effect: "Allow",
          Principal: { AWS: `arn:aws:iam::${FAKE_ACCOUNT}:root` },
          Action: "kms:*",
          Resource: "*",
        },
        {
          Sid: "KeyAdminsUse",
          Effect: "Allow",
          Principal: { AWS: admins },
          Action: ["kms:DescribeKey", "kms:GenerateDataKey", "kms:Decrypt"],
          Resource: "*",
        },
        {
          Sid: "KeyAdminsManage",
          Effect: "Allow",
          Principal: { AWS: admins },
          Action: [
            "kms:CreateAlias",
            "kms:DeleteAlias",
            "kms:ListGrants",
            "kms:RevokeGrant",
            "kms:ScheduleKeyDeletion",
          ],
          Resource: "*",
        },
        {
          Sid: "KeyAdminsTagOnce",
          Effect: "Allow",
          Principal: { AWS: admins },
          Action: "kms:TagResource",
          Resource: "*",
          Condition: {
            StringEquals: { "aws:RequestTag/spe:stage": "test" },
            "ForAllValues:StringEquals": { "aws:TagKeys": ["spe:permit", "spe:stage"] },
          },
        },
        {
          Sid: "KeyAdminsGrantToTaskRoles",
          Effect: "Allow",
          Principal: { AWS: admins },
          Action: "kms:CreateGrant",
          Resource: "*",
          Condition: {
            StringLike: { "kms:GranteePrincipal": `arn:aws:iam::${FAKE_ACCOUNT}:role/spe/test/*` },
            "ForAllValues:StringEquals": { "kms:GrantOperations": ["Decrypt", "GenerateDataKey", "DescribeKey"] },
          },
        },
        {
          Sid: "KeyUsersUse",
          Effect: "Allow",
          Principal: { AWS: [role("task-events")] },
          Action: ["kms:DescribeKey", "kms:GenerateDataKey", "kms:Decrypt"],
          Resource: "*",
        },
      ],
    });
    expect(create.Policy).not.toMatch(/PutKeyPolicy|CancelKeyDeletion|Encrypt"|ReEncrypt|DisableKey/);
  });

  it("lets no function rewrite, re-enable or keep the key, and gives users only data-key use", () => {
    const doc = permitKeyPolicy(base);
    const functionStatements = doc.Statement.filter((s) => s.Sid !== "AccountAdministers");
    const actions = functionStatements.flatMap((s) => [s.Action].flat());
    for (const forbidden of [
      "kms:*",
      "kms:PutKeyPolicy",
      "kms:CancelKeyDeletion",
      "kms:EnableKey",
      "kms:UntagResource",
    ]) {
      expect(actions).not.toContain(forbidden);
    }
    // Only the account root holds kms:*, i.e. the account's own IAM administrators, never another account.
    expect(doc.Statement.filter((s) => [s.Action].flat().includes("kms:*"))).toEqual([
      expect.objectContaining({ Principal: { AWS: "arn:aws:iam::123456789012:root" } }),
    ]);
    const users = doc.Statement.find((s) => s.Sid === "KeyUsersUse");
    expect(users?.Action).toEqual(["kms:DescribeKey", "kms:GenerateDataKey", "kms:Decrypt"]);
    // Duplicates collapse; principals are sorted so that the document is the same at every cold start.
    expect(doc.Statement.find((s) => s.Sid === "KeyAdminsManage")?.Principal).toEqual({
      AWS: [role("spe-prod-fn-api"), role("spe-prod-fn-sweep")],
    });
    expect(JSON.stringify(doc).length).toBeLessThan(32_768);
  });

  it("leaves out the users statement when there are none, and never lists an admin as a mere user", () => {
    const none = permitKeyPolicy({ ...base, keyUsers: [] });
    expect(none.Statement.map((s) => s.Sid)).not.toContain("KeyUsersUse");
    const same = permitKeyPolicy({ ...base, keyUsers: [role("spe-prod-fn-api")] });
    expect(same.Statement.map((s) => s.Sid)).not.toContain("KeyUsersUse");
  });

  it("follows the partition for every ARN it writes", () => {
    const doc = JSON.stringify(
      permitKeyPolicy({
        ...base,
        partition: "aws-cn",
        keyAdmins: ["arn:aws-cn:iam::123456789012:role/spe-prod-fn-api"],
        keyUsers: [],
      }),
    );
    expect(doc).toContain('"arn:aws-cn:iam::123456789012:root"');
    expect(doc).toContain('"arn:aws-cn:iam::123456789012:role/spe/prod/*"');
    expect(doc).not.toMatch(/arn:aws:/);
  });

  it("refuses principals that are not roles of this account, no admin at all, or the root path for grants", () => {
    expect(() => permitKeyPolicy({ ...base, keyAdmins: [] })).toThrow(/at least one key admin/);
    expect(() => permitKeyPolicy({ ...base, keyAdmins: [role("x", "210987654321")] })).toThrow(/key admin/);
    expect(() => permitKeyPolicy({ ...base, keyAdmins: ["arn:aws:iam::123456789012:user/alice"] })).toThrow(
      /not an IAM role ARN/,
    );
    expect(() => permitKeyPolicy({ ...base, keyUsers: ["arn:aws:iam::123456789012:root"] })).toThrow(/key user/);
    expect(() => permitKeyPolicy({ ...base, taskRolePath: "/" })).toThrow(/taskRolePath/);
    expect(() => permitKeyPolicy({ ...base, taskRolePath: "spe/prod" })).toThrow(/taskRolePath/);
  });
});

import { objectKeys } from "@spe/core";
import { describe, expect, it } from "vitest";
import { describeKeyServiceContract } from "../../../test/contracts/key-service-contract";
import { KmsKeyService } from "./kms-key-service";
import { S3ObjectStore } from "./s3-object-store";
import { FAKE_ACCOUNT, FAKE_KEY_ADMINS, FAKE_KEY_USERS, FAKE_REGION, FakeKms } from "./testing/fake-kms";
import { OBJECT_BUCKETS as B, FakeS3 } from "./testing/fake-s3";
import { kmsThrottling } from "./testing/faults";
import { MemoryWrappedKeyStore } from "./wrapped-key-store";

function setup() {
  const kms = new FakeKms();
  const store = new MemoryWrappedKeyStore();
  const keys = new KmsKeyService({
    kms: kms.client,
    store,
    stage: "test",
    region: FAKE_REGION,
    accountId: FAKE_ACCOUNT,
    keyAdmins: FAKE_KEY_ADMINS,
    keyUsers: FAKE_KEY_USERS,
  });
  return { kms, store, keys };
}
const enabled = (kms: FakeKms) => kms.keys().filter((k) => k.state === "Enabled");
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describeKeyServiceContract("KmsKeyService (in-memory KMS)", () => setup());

describe("KmsKeyService", () => {
  it("creates one symmetric key per permit with its own policy, tags it, aliases it, stores only KMS ciphertexts", async () => {
    const { kms, store, keys } = setup();
    await keys.createPermitKey("pmt-1");
    const [key] = kms.keys();
    expect(kms.keys()).toHaveLength(1);
    expect(key).toMatchObject({
      spec: "SYMMETRIC_DEFAULT",
      usage: "ENCRYPT_DECRYPT",
      state: "Enabled",
      tags: { "spe:permit": "pmt-1", "spe:stage": "test" },
      bypassedLockoutCheck: true,
    });
    expect(kms.aliases()).toEqual({ "alias/spe-test/permit/pmt-1": key?.keyId });
    // Tags never go through CreateKey (that needs kms:TagResource in IAM on every key): tagged, then aliased.
    expect(kms.faults.calls.map((c) => c.command)).toEqual([
      "DescribeKey",
      "CreateKey",
      "TagResource",
      "CreateAlias",
      "GenerateDataKey",
      "GenerateDataKey",
    ]);
    const create = kms.faults.calls.find((c) => c.command === "CreateKey")?.input as Record<string, unknown>;
    expect(create).not.toHaveProperty("Tags");
    expect(create).toMatchObject({ KeySpec: "SYMMETRIC_DEFAULT", KeyUsage: "ENCRYPT_DECRYPT" });
    expect(kms.faults.calls.find((c) => c.command === "TagResource")?.input).toEqual({
      KeyId: key?.arn,
      Tags: [
        { TagKey: "spe:permit", TagValue: "pmt-1" },
        { TagKey: "spe:stage", TagValue: "test" },
      ],
    });
    const generated = kms.faults.calls.filter((c) => c.command === "GenerateDataKey").map((c) => c.input);
    expect(generated).toEqual([
      { KeyId: key?.arn, KeySpec: "AES_256", EncryptionContext: { permit: "pmt-1", purpose: "data" } },
      { KeyId: key?.arn, KeySpec: "AES_256", EncryptionContext: { permit: "pmt-1", purpose: "pseudonym" } },
    ]);
    const stored = store.items.get("pmt-1");
    const plain = await keys.permitKeys("pmt-1");
    expect(stored?.keyArn).toBe(key?.arn);
    expect(hex(stored?.wrapped?.data ?? new Uint8Array())).not.toContain(hex(plain.dataKey));
    expect(hex(stored?.wrapped?.pseudonym ?? new Uint8Array())).not.toContain(hex(plain.pseudonymKey));
    // A second creation makes no KMS call at all.
    const calls = kms.faults.calls.length;
    await keys.createPermitKey("pmt-1");
    expect(kms.faults.calls.length).toBe(calls);
  });

  it("when two creators race, one key wins the alias and the loser's key is scheduled for deletion", async () => {
    const { kms, keys } = setup();
    await Promise.all([keys.createPermitKey("pmt-r"), keys.createPermitKey("pmt-r")]);
    expect(kms.keys()).toHaveLength(2);
    expect(enabled(kms).map((k) => k.keyId)).toEqual([kms.aliases()["alias/spe-test/permit/pmt-r"]]);
    expect(kms.keys().filter((k) => k.state === "PendingDeletion")).toHaveLength(1);
  });

  it("names alias ARNs without a call, and maps every permit id to its own alias", () => {
    const { kms, keys } = setup();
    expect(keys.permitKeyAliasArn("pmt-1")).toBe(
      `arn:aws:kms:${FAKE_REGION}:${FAKE_ACCOUNT}:alias/spe-test/permit/pmt-1`,
    );
    expect(keys.aliasName("a.b")).toBe("alias/spe-test/permit/a_-b");
    expect(keys.aliasName("a_-b")).toBe("alias/spe-test/permit/a__-b");
    expect(() => keys.aliasName("../x")).toThrow(/invalid permit id/);
    expect(kms.faults.calls).toEqual([]);
  });

  describe("fault injection (throttling after the SDK's own retries)", () => {
    for (const [command, skip] of [
      ["DescribeKey", 0],
      ["CreateKey", 0],
      ["TagResource", 0],
      ["CreateAlias", 0],
      ["GenerateDataKey", 0],
      ["GenerateDataKey", 1],
    ] as const) {
      it(`creation throttled at ${command}${skip ? ` (call ${skip + 1})` : ""}: no enabled key without its alias, and a retry ends with one key`, async () => {
        const { kms, store, keys } = setup();
        kms.faults.fail(command, kmsThrottling, { skip });
        await expect(keys.createPermitKey("pmt-1")).rejects.toMatchObject({ name: "ThrottlingException" });
        const aliased = new Set(Object.values(kms.aliases()));
        expect(enabled(kms).filter((k) => !aliased.has(k.keyId))).toEqual([]);
        expect(store.items.size).toBe(0);
        await keys.createPermitKey("pmt-1");
        expect(enabled(kms)).toHaveLength(1);
        expect((await keys.permitKeys("pmt-1")).dataKey.byteLength).toBe(32);
      });
    }

    it("a CreateKey whose response is lost leaves a stray key, untagged but named in its description (known limit)", async () => {
      const { kms, keys } = setup();
      kms.faults.fail("CreateKey", kmsThrottling, { after: true });
      await expect(keys.createPermitKey("pmt-1")).rejects.toThrow();
      await keys.createPermitKey("pmt-1");
      const stray = enabled(kms).filter((k) => !Object.values(kms.aliases()).includes(k.keyId));
      expect(stray).toMatchObject([{ description: expect.stringMatching(/^SPE test: keys of permit pmt-1 /) }]);
      expect(stray[0]?.tags).toEqual({});
      // Its policy is the same: no function can do more with the stray than with any permit key.
      expect(stray[0]?.policy).toEqual(kms.keys().find((k) => k.state === "Enabled" && k !== stray[0])?.policy);
    });

    it("TagResource throttled: the untagged key is scheduled for deletion at once and never aliased", async () => {
      const { kms, store, keys } = setup();
      kms.faults.fail("TagResource", kmsThrottling);
      await expect(keys.createPermitKey("pmt-1")).rejects.toMatchObject({ name: "ThrottlingException" });
      expect(kms.keys().map((k) => [k.state, k.tags])).toEqual([["PendingDeletion", {}]]);
      expect(kms.aliases()).toEqual({});
      expect(kms.faults.count("CreateAlias")).toBe(0);
      expect(store.items.size).toBe(0);
      await keys.createPermitKey("pmt-1");
      expect(enabled(kms)).toMatchObject([{ tags: { "spe:permit": "pmt-1", "spe:stage": "test" } }]);
    });

    it("CreateKey throttled: the error surfaces and no key exists", async () => {
      const { kms, store, keys } = setup();
      kms.faults.fail("CreateKey", kmsThrottling);
      await expect(keys.createPermitKey("pmt-1")).rejects.toMatchObject({ name: "ThrottlingException" });
      expect(kms.keys()).toEqual([]);
      expect(store.items.size).toBe(0);
    });

    it("CreateAlias throttled: the new key is scheduled for deletion at once, no usable key without alias", async () => {
      const { kms, store, keys } = setup();
      kms.faults.fail("CreateAlias", kmsThrottling);
      await expect(keys.createPermitKey("pmt-1")).rejects.toMatchObject({ name: "ThrottlingException" });
      expect(kms.keys().map((k) => k.state)).toEqual(["PendingDeletion"]);
      expect(store.items.size).toBe(0);
      await keys.createPermitKey("pmt-1"); // the retry starts afresh
      expect(enabled(kms)).toHaveLength(1);
    });

    it("CreateAlias and every cleanup attempt throttled: the stray key is left, tagged with its permit", async () => {
      const { kms, keys } = setup();
      kms.faults.fail("CreateAlias", kmsThrottling);
      kms.faults.fail("ScheduleKeyDeletion", kmsThrottling, { times: 3 });
      await expect(keys.createPermitKey("pmt-1")).rejects.toMatchObject({ name: "ThrottlingException" });
      expect(kms.faults.count("ScheduleKeyDeletion")).toBe(3);
      expect(kms.keys()).toMatchObject([{ state: "Enabled", tags: { "spe:permit": "pmt-1", "spe:stage": "test" } }]);
    });

    it("GenerateDataKey throttled: nothing is stored, and the retry reuses the same key", async () => {
      const { kms, store, keys } = setup();
      kms.faults.fail("GenerateDataKey", kmsThrottling, { skip: 1 });
      await expect(keys.createPermitKey("pmt-1")).rejects.toMatchObject({ name: "ThrottlingException" });
      expect(store.items.size).toBe(0);
      await keys.createPermitKey("pmt-1");
      expect(kms.keys()).toHaveLength(1);
      expect((await keys.permitKeys("pmt-1")).dataKey.byteLength).toBe(32);
    });

    it("Decrypt throttled: the error surfaces as itself, not as destroyed keys", async () => {
      const { kms, keys } = setup();
      await keys.createPermitKey("pmt-1");
      kms.faults.fail("Decrypt", kmsThrottling);
      await expect(keys.permitKeys("pmt-1")).rejects.toMatchObject({ name: "ThrottlingException" });
      expect((await keys.permitKeys("pmt-1")).dataKey.byteLength).toBe(32);
    });

    it("destruction failing halfway refuses the keys at once, and a retry completes it", async () => {
      const { kms, store, keys } = setup();
      await keys.createPermitKey("pmt-1");
      kms.faults.fail("DeleteAlias", kmsThrottling);
      await expect(keys.destroyPermitKey("pmt-1")).rejects.toMatchObject({ name: "ThrottlingException" });
      await expect(keys.permitKeys("pmt-1")).rejects.toMatchObject({ code: "permit.key_destroyed" });
      expect(store.items.get("pmt-1")?.wrapped).toBeNull();
      kms.faults.fail("ScheduleKeyDeletion", kmsThrottling);
      await expect(keys.destroyPermitKey("pmt-1")).rejects.toMatchObject({ name: "ThrottlingException" });
      expect(kms.aliases()).toEqual({});
      expect(enabled(kms)).toHaveLength(1); // still to do: the sweeper retries
      expect(await keys.destroyPermitKey("pmt-1")).toBe(true);
      expect(kms.keys().map((k) => k.state)).toEqual(["PendingDeletion"]);
      expect(await keys.destroyPermitKey("pmt-1")).toBe(false);
    });
  });

  it("destroys with a 7-day waiting period, keeping the key's ARN in the tombstone", async () => {
    const { kms, store, keys } = setup();
    await keys.createPermitKey("pmt-1");
    const arn = kms.keys()[0]?.arn;
    expect(await keys.destroyPermitKey("pmt-1")).toBe(true);
    expect(kms.faults.calls.find((c) => c.command === "ScheduleKeyDeletion")?.input).toEqual({
      KeyId: arn,
      PendingWindowInDays: 7,
    });
    expect(store.items.get("pmt-1")).toMatchObject({ keyArn: arn, wrapped: null, destroyedAt: expect.any(String) });
    kms.expirePendingDeletions();
    expect(kms.keys()).toEqual([]);
    expect(await keys.destroyPermitKey("pmt-1")).toBe(false);
  });

  it("destroys a key whose creation stopped before its data keys were stored", async () => {
    const { kms, keys } = setup();
    kms.faults.fail("GenerateDataKey", kmsThrottling);
    await expect(keys.createPermitKey("pmt-1")).rejects.toThrow();
    expect(await keys.destroyPermitKey("pmt-1")).toBe(true);
    expect(kms.keys().map((k) => k.state)).toEqual(["PendingDeletion"]);
    expect(kms.aliases()).toEqual({});
  });

  it("treats a disabled, pending-deletion or deleted KMS key as destroyed keys", async () => {
    const { kms, keys } = setup();
    await keys.createPermitKey("pmt-1");
    kms.setState("alias/spe-test/permit/pmt-1", "Disabled");
    await expect(keys.permitKeys("pmt-1")).rejects.toMatchObject({ code: "permit.key_destroyed" });
    kms.setState("alias/spe-test/permit/pmt-1", "PendingDeletion");
    await expect(keys.permitKeys("pmt-1")).rejects.toMatchObject({ code: "permit.key_destroyed" });
    await expect(keys.createPermitKey("pmt-2")).resolves.toBeUndefined();
    kms.expirePendingDeletions();
    await expect(keys.permitKeys("pmt-1")).rejects.toMatchObject({ code: "permit.key_destroyed" });
    expect((await keys.permitKeys("pmt-2")).dataKey.byteLength).toBe(32);
  });

  it("refuses blobs bound to another purpose or permit (the encryption context is checked)", async () => {
    const { store, keys } = setup();
    await keys.createPermitKey("pmt-1");
    const rec = store.items.get("pmt-1");
    if (!rec?.wrapped) throw new Error("no blobs");
    rec.wrapped = { data: rec.wrapped.pseudonym, pseudonym: rec.wrapped.data };
    await expect(keys.permitKeys("pmt-1")).rejects.toMatchObject({ name: "InvalidCiphertextException" });
  });

  describe("workspace grants", () => {
    const role = `arn:aws:iam::${FAKE_ACCOUNT}:role/spe/test/spe-test-permit-pmt-1`;

    it("grants a workspace role the permit key once, however often it is asked", async () => {
      const { kms, keys } = setup();
      await keys.createPermitKey("pmt-1");
      const first = await keys.grantWorkspace("pmt-1", "ws-1", role);
      expect(await keys.grantWorkspace("pmt-1", "ws-1", role)).toBe(first);
      expect(kms.keys()[0]?.grants).toEqual([
        { grantId: first, name: "ws-ws-1", grantee: role, operations: ["Decrypt", "DescribeKey", "GenerateDataKey"] },
      ]);
      await expect(keys.grantWorkspace("pmt-1", "ws-1", "arn:aws:iam::1:user/x")).rejects.toThrow(/IAM role ARN/);
      // Only the per-permit task roles (which the key policy allows): never a function role or another stage's role.
      const calls = kms.faults.count("CreateGrant");
      for (const other of [
        FAKE_KEY_ADMINS[0] as string,
        `arn:aws:iam::${FAKE_ACCOUNT}:role/spe/prod/spe-prod-permit-x`,
      ]) {
        await expect(keys.grantWorkspace("pmt-1", "ws-2", other)).rejects.toThrow(/not an IAM role ARN under/);
      }
      expect(kms.faults.count("CreateGrant")).toBe(calls);
      await expect(keys.grantWorkspace("pmt-none", "ws-1", role)).rejects.toMatchObject({ code: "permit.key_missing" });
    });

    it("revokes every grant of that workspace (across pages of grants) and only those, idempotently", async () => {
      const { kms, keys } = setup();
      await keys.createPermitKey("pmt-1");
      for (let i = 0; i < 120; i++) await keys.grantWorkspace("pmt-1", `ws-other-${i}`, role);
      await keys.grantWorkspace("pmt-1", "ws-1", role);
      await keys.grantWorkspace("pmt-1", "ws-1", `${role}-b`);
      expect(await keys.retireWorkspaceGrants("pmt-1", "ws-1")).toBe(2);
      expect(kms.keys()[0]?.grants).toHaveLength(120);
      expect(kms.keys()[0]?.grants.some((g) => g.name === "ws-ws-1")).toBe(false);
      expect(await keys.retireWorkspaceGrants("pmt-1", "ws-1")).toBe(0);
    });

    it("after destruction: no new grant; old ones can still be revoked until the key is gone", async () => {
      const { kms, keys } = setup();
      await keys.createPermitKey("pmt-1");
      await keys.grantWorkspace("pmt-1", "ws-1", role);
      await keys.grantWorkspace("pmt-1", "ws-2", role);
      await keys.destroyPermitKey("pmt-1");
      await expect(keys.grantWorkspace("pmt-1", "ws-3", role)).rejects.toMatchObject({ code: "permit.key_destroyed" });
      expect(await keys.retireWorkspaceGrants("pmt-1", "ws-1")).toBe(1); // KMS allows revoking while pending deletion
      kms.expirePendingDeletions();
      expect(await keys.retireWorkspaceGrants("pmt-1", "ws-2")).toBe(0); // the key, and its grants, are gone
      expect(await keys.retireWorkspaceGrants("pmt-none", "ws-1")).toBe(0);
    });
  });

  it("crypto-shreds S3 objects too: after destruction S3 can neither read nor write under the key", async () => {
    const { kms, keys } = setup();
    const s3 = new FakeS3(Object.values(B), { kms });
    const objects = new S3ObjectStore({ s3: s3.client, buckets: B, permitKeyArn: (p) => keys.permitKeyAliasArn(p) });
    const at = objectKeys("pmt-1", "ws-1");
    await expect(objects.put(at.identifiers, (async function* () {})())).rejects.toMatchObject({
      name: "KMS.NotFoundException", // no key yet: S3 refuses to encrypt under a missing alias
    });
    await keys.createPermitKey("pmt-1");
    await objects.put(
      at.identifiers,
      (async function* () {
        yield Buffer.from("ids");
      })(),
    );
    expect(s3.objects(B.staging)[0]?.encryption.SSEKMSKeyId).toBe(kms.keys()[0]?.arn);
    await keys.destroyPermitKey("pmt-1");
    const read = async () => {
      for await (const _ of objects.get(at.identifiers)) {
        // drain
      }
    };
    await expect(read()).rejects.toMatchObject({ name: "KMS.KMSInvalidStateException" });
    await expect(
      objects.put(
        at.output("late.csv"),
        (async function* () {
          yield Buffer.from("x");
        })(),
      ),
    ).rejects.toMatchObject({ name: "KMS.NotFoundException" });
    expect(s3.objects(B.outputs)).toEqual([]);
  });

  it("validates its options", () => {
    const kms = new FakeKms();
    const base = {
      kms: kms.client,
      store: new MemoryWrappedKeyStore(),
      region: FAKE_REGION,
      accountId: FAKE_ACCOUNT,
      keyAdmins: FAKE_KEY_ADMINS,
    };
    expect(() => new KmsKeyService({ ...base, stage: "Prod!" })).toThrow(/stage/);
    expect(() => new KmsKeyService({ ...base, stage: "prod", region: "mars" })).toThrow(/region/);
    expect(() => new KmsKeyService({ ...base, stage: "prod", accountId: "123" })).toThrow(/accountId/);
    expect(() => new KmsKeyService({ ...base, stage: "prod", aliasPrefix: "alias/aws/x/" })).toThrow(/aliasPrefix/);
    expect(() => new KmsKeyService({ ...base, stage: "prod", keyAdmins: [] })).toThrow(/at least one key admin/);
    expect(
      () =>
        new KmsKeyService({ ...base, stage: "prod", keyAdmins: ["arn:aws:iam::999999999999:role/spe-prod-fn-api"] }),
    ).toThrow(/not an IAM role ARN of account 111122223333/);
    expect(() => new KmsKeyService({ ...base, stage: "prod", keyUsers: ["*"] })).toThrow(/key user "\*"/);
    expect(() => new KmsKeyService({ ...base, stage: "prod", taskRolePath: "/" })).toThrow(/taskRolePath/);
    expect(kms.faults.calls).toEqual([]);
  });
});

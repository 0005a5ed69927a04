/**
 * Template assertions on the stateful stacks: Keys (platform key, audit signing key), State (the table) and
 * Storage (the buckets and the audit archive). What they promise: encrypted, retained where losing them loses
 * evidence, TLS only, never public, versioned, and an archive nobody can shorten.
 */

import type { Template } from "aws-cdk-lib/assertions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DOWNLOADS_PREFIX } from "../../packages/aws/src/bucket-layout";
import { TABLE_GSIS, TTL_ATTRIBUTE } from "../../packages/aws/src/table-schema";
import { type Cfn, only, type Resource, render, resources, type Synthesized, synthesize } from "./synth";

let synth: Synthesized;
let keys: Template;
let state: Template;
let storage: Template;

beforeAll(async () => {
  synth = await synthesize();
  ({ Keys: keys, State: state, Storage: storage } = synth.templates);
}, 120_000);
afterAll(() => synth?.cleanup());

/** The logical id of the key whose alias ends with `suffix`. */
function keyId(suffix: string): string {
  const alias = resources(keys, "AWS::KMS::Alias").find(([, a]) => String(a.Properties.AliasName).endsWith(suffix));
  expect(alias, `alias ...${suffix}`).toBeDefined();
  return alias![1].Properties.TargetKeyId["Fn::GetAtt"][0];
}

/** The key a cross-stack import refers to (`Fn::ImportValue` of a Keys export), as its logical id. */
function importedKey(importValue: Cfn): string {
  const name = importValue["Fn::ImportValue"];
  const out = Object.values(keys.toJSON().Outputs as Record<string, Cfn>).find((o) => o.Export?.Name === name);
  expect(out, `export ${name}`).toBeDefined();
  return out.Value["Fn::GetAtt"][0];
}

describe("Keys stack", () => {
  it("keeps the platform key in every stage, rotated, under a per-stage alias", () => {
    const id = keyId("spe-test-platform");
    const key = keys.toJSON().Resources[id] as Resource;
    expect(key.Properties.EnableKeyRotation).toBe(true);
    expect(key).toMatchObject({ DeletionPolicy: "Retain", UpdateReplacePolicy: "Retain" });
  });

  it("creates the audit signing key as ECC_NIST_P256 / SIGN_VERIFY, retained", () => {
    const key = keys.toJSON().Resources[keyId("spe-test-audit-signing")] as Resource;
    expect(key.Properties).toMatchObject({ KeySpec: "ECC_NIST_P256", KeyUsage: "SIGN_VERIFY" });
    expect(key).toMatchObject({ DeletionPolicy: "Retain", UpdateReplacePolicy: "Retain" });
  });

  it("lets no one tag the platform or audit key into the per-permit key scope", () => {
    for (const suffix of ["spe-test-platform", "spe-test-audit-signing"]) {
      const key = keys.toJSON().Resources[keyId(suffix)] as Resource;
      expect(key.Properties.KeyPolicy.Statement).toContainEqual(
        expect.objectContaining({
          Effect: "Deny",
          Action: "kms:TagResource",
          Principal: { AWS: "*" },
          Condition: { "ForAnyValue:StringEquals": { "aws:TagKeys": ["spe:stage", "spe:permit"] } },
        }),
      );
    }
  });

  it("lets CloudWatch Logs use the platform key only for this account's log groups", () => {
    const key = keys.toJSON().Resources[keyId("spe-test-platform")] as Resource;
    const logs = (key.Properties.KeyPolicy.Statement as Cfn[]).find((s) => s.Sid === "CloudWatchLogsOfThisAccount");
    expect(render(logs.Condition.ArnLike["kms:EncryptionContext:aws:logs:arn"])).toBe(
      "arn:aws:logs:eu-west-1:123456789012:log-group:*",
    );
  });
});

describe("State stack", () => {
  it("creates one pk/sk table: on demand, PITR, NEW_IMAGE stream, platform key, retained, delete-protected", () => {
    const [, table] = only(state, "AWS::DynamoDB::Table");
    expect(table).toMatchObject({ DeletionPolicy: "Retain", UpdateReplacePolicy: "Retain" });
    const p = table.Properties;
    expect(p.KeySchema).toEqual([
      { AttributeName: "pk", KeyType: "HASH" },
      { AttributeName: "sk", KeyType: "RANGE" },
    ]);
    expect(p).toMatchObject({
      BillingMode: "PAY_PER_REQUEST",
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      StreamSpecification: { StreamViewType: "NEW_IMAGE" },
      SSESpecification: { SSEEnabled: true, SSEType: "KMS" },
      DeletionProtectionEnabled: true,
    });
    // The customer managed platform key (imported from Keys), not the AWS owned one.
    expect(importedKey(p.SSESpecification.KMSMasterKeyId)).toBe(keyId("spe-test-platform"));
  });

  it("builds its indexes and TTL from packages/aws/src/table-schema.ts", () => {
    const [, table] = only(state, "AWS::DynamoDB::Table");
    const gsis = table.Properties.GlobalSecondaryIndexes as Cfn[];
    expect(gsis.map((g) => g.IndexName)).toEqual(TABLE_GSIS.map((g) => g.name));
    for (const gsi of TABLE_GSIS) {
      expect(gsis).toContainEqual({
        IndexName: gsi.name,
        KeySchema: [
          { AttributeName: gsi.partition, KeyType: "HASH" },
          { AttributeName: gsi.sort, KeyType: "RANGE" },
        ],
        Projection: { ProjectionType: "ALL" },
      });
    }
    expect(table.Properties.TimeToLiveSpecification).toEqual({ AttributeName: TTL_ATTRIBUTE, Enabled: true });
  });
});

describe("Storage stack", () => {
  const dataBuckets = ["Staging", "Outputs", "Quarantine", "Releases", "Workspaces", "AuditArchive"];
  const bucket = (prefix: string): [string, Resource] => {
    const found = resources(storage, "AWS::S3::Bucket").filter(([id]) => id.startsWith(prefix));
    expect(found, prefix).toHaveLength(1);
    return found[0]!;
  };
  const policyOf = (bucketId: string): Cfn[] => {
    const found = resources(storage, "AWS::S3::BucketPolicy").find(([, p]) => p.Properties.Bucket.Ref === bucketId);
    expect(found, `policy of ${bucketId}`).toBeDefined();
    return found![1].Properties.PolicyDocument.Statement;
  };

  it("has exactly the data buckets, the audit archive and the access-log bucket", () => {
    expect(resources(storage, "AWS::S3::Bucket").map(([id]) => id.replace(/[0-9A-F]{8}$/, ""))).toEqual(
      expect.arrayContaining([...dataBuckets, "AccessLogs"]),
    );
    expect(resources(storage, "AWS::S3::Bucket")).toHaveLength(dataBuckets.length + 1);
  });

  it("encrypts every data bucket with the platform key (SSE-KMS, bucket keys)", () => {
    for (const name of dataBuckets) {
      const [, b] = bucket(name);
      const [rule] = b.Properties.BucketEncryption.ServerSideEncryptionConfiguration;
      expect(rule, name).toMatchObject({
        BucketKeyEnabled: true,
        ServerSideEncryptionByDefault: { SSEAlgorithm: "aws:kms" },
      });
      expect(importedKey(rule.ServerSideEncryptionByDefault.KMSMasterKeyID), name).toBe(keyId("spe-test-platform"));
    }
  });

  it("blocks public access, disables ACLs, versions, and refuses anything but TLS >= 1.2 on every bucket", () => {
    for (const [id, b] of resources(storage, "AWS::S3::Bucket")) {
      expect(b.Properties, id).toMatchObject({
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        OwnershipControls: { Rules: [{ ObjectOwnership: "BucketOwnerEnforced" }] },
        VersioningConfiguration: { Status: "Enabled" },
      });
      const statements = policyOf(id);
      const denies = statements.filter((s) => s.Effect === "Deny" && s.Action === "s3:*" && s.Principal.AWS === "*");
      expect(denies, id).toContainEqual(
        expect.objectContaining({ Condition: { Bool: { "aws:SecureTransport": "false" } } }),
      );
      expect(denies, id).toContainEqual(
        expect.objectContaining({ Condition: { NumericLessThan: { "s3:TlsVersion": 1.2 } } }),
      );
      // No statement of any bucket policy lets in anyone but the S3 logging service.
      for (const s of statements.filter((x) => x.Effect === "Allow")) {
        expect(s.Principal, id).toEqual({ Service: "logging.s3.amazonaws.com" });
      }
    }
  });

  it("logs access to every data bucket into the access-log bucket, under the bucket's own prefix", () => {
    const [logsId, logs] = bucket("AccessLogs");
    expect(logs.Properties.LoggingConfiguration).toBeUndefined();
    const delivery = policyOf(logsId).filter((s) => s.Principal?.Service === "logging.s3.amazonaws.com");
    for (const name of dataBuckets) {
      const [id, b] = bucket(name);
      expect(b.Properties.LoggingConfiguration, name).toEqual({
        DestinationBucketName: { Ref: logsId },
        LogFilePrefix: `${name}/`,
      });
      // The log service may write there only for this bucket, this account, this prefix.
      expect(delivery).toContainEqual(
        expect.objectContaining({
          Action: "s3:PutObject",
          Condition: {
            ArnLike: { "aws:SourceArn": { "Fn::GetAtt": [id, "Arn"] } },
            StringEquals: { "aws:SourceAccount": "123456789012" },
          },
          Resource: { "Fn::Join": ["", [{ "Fn::GetAtt": [logsId, "Arn"] }, `/${name}/*`]] },
        }),
      );
    }
  });

  it("keeps evidence and permit results (RETAIN) and lets working copies go only when empty (no auto-delete)", () => {
    for (const name of ["Outputs", "Quarantine", "Releases", "AuditArchive", "AccessLogs"]) {
      expect(bucket(name)[1], name).toMatchObject({ DeletionPolicy: "Retain", UpdateReplacePolicy: "Retain" });
    }
    for (const name of ["Staging", "Workspaces"]) {
      expect(bucket(name)[1], name).toMatchObject({ DeletionPolicy: "Delete" });
    }
    // Auto-delete would empty a bucket on stack deletion: no custom resource of that kind anywhere.
    expect(Object.keys(storage.findResources("Custom::S3AutoDeleteObjects"))).toHaveLength(0);
  });

  it("cleans up uploads, old versions and delete markers but never expires a current object", () => {
    for (const [id, b] of resources(storage, "AWS::S3::Bucket")) {
      const rules = b.Properties.LifecycleConfiguration.Rules as Cfn[];
      expect(rules, id).toContainEqual(
        expect.objectContaining({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } }),
      );
      for (const rule of rules) {
        // The one exception: the one-time copies behind presigned download links (not evidence: the release is).
        if (id.startsWith("Releases") && rule.Prefix === DOWNLOADS_PREFIX) {
          expect(rule).toMatchObject({ ExpirationInDays: 1, NoncurrentVersionExpiration: { NoncurrentDays: 1 } });
          continue;
        }
        expect(rule, id).not.toHaveProperty("ExpirationInDays");
        expect(rule, id).not.toHaveProperty("ExpirationDate");
        expect(rule, id).not.toHaveProperty("Transitions");
      }
    }
    const noncurrentDays = (name: string) =>
      (bucket(name)[1].Properties.LifecycleConfiguration.Rules as Cfn[]).find((r) => r.NoncurrentVersionExpiration)
        ?.NoncurrentVersionExpiration.NoncurrentDays;
    expect(noncurrentDays("Workspaces")).toBe(1);
    for (const name of ["Staging", "Outputs", "Quarantine", "Releases"]) expect(noncurrentDays(name), name).toBe(7);
  });

  it("locks the audit archive in COMPLIANCE mode for the configured retention (>= 365 days), no version expiry", () => {
    const [, archive] = bucket("AuditArchive");
    expect(archive.Properties).toMatchObject({
      ObjectLockEnabled: true,
      ObjectLockConfiguration: {
        ObjectLockEnabled: "Enabled",
        Rule: { DefaultRetention: { Mode: "COMPLIANCE", Days: 400 } },
      },
      VersioningConfiguration: { Status: "Enabled" },
    });
    expect(archive.Properties.ObjectLockConfiguration.Rule.DefaultRetention.Days).toBeGreaterThanOrEqual(365);
    expect(archive.Properties.LifecycleConfiguration.Rules).toEqual([
      expect.objectContaining({ Id: "abort-incomplete-multipart-uploads" }),
    ]);
    // Nothing overwrites an archived batch or seal: every put must be conditional (If-None-Match).
    const [, policy] = resources(storage, "AWS::S3::BucketPolicy").find(([, p]) =>
      render(p.Properties.Bucket).includes("AuditArchive"),
    )!;
    expect(policy.Properties.PolicyDocument.Statement).toContainEqual(
      expect.objectContaining({
        Sid: "DenyOverwritingArchivedObjects",
        Effect: "Deny",
        Action: "s3:PutObject",
        Condition: { Null: { "s3:if-none-match": "true" } },
      }),
    );
    // Only this bucket is locked.
    const locked = resources(storage, "AWS::S3::Bucket").filter(([, b]) => b.Properties.ObjectLockEnabled);
    expect(locked.map(([id]) => id)).toEqual([expect.stringMatching(/^AuditArchive/)]);
  });

  it("encrypts the access-log bucket with S3 managed keys, the only encryption S3 log delivery accepts", () => {
    const [, logs] = bucket("AccessLogs");
    expect(logs.Properties.BucketEncryption).toEqual({
      ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } }],
    });
  });

  it("creates no bucket for the dataset sources: they are the data holders'", () => {
    expect(JSON.stringify(storage.toJSON())).not.toContain("hospital-a-datasets");
  });
});

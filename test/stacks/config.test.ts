/**
 * The stacks' own inputs, without synthesis: deploy-time configuration (refused with a message saying how to
 * fix it), the stage, the bucket helper's limits, and the workspace image's exclude list.
 */
import { join } from "node:path";
import { App, RemovalPolicy, Stack } from "aws-cdk-lib";
import { Key } from "aws-cdk-lib/aws-kms";
import { Bucket } from "aws-cdk-lib/aws-s3";
import { describe, expect, it } from "vitest";
import { secureBucket } from "../../stacks/lib/buckets";
import { MIN_AUDIT_RETENTION_DAYS, readDeployConfig } from "../../stacks/lib/deploy-config";
import { stageOf } from "../../stacks/lib/names";
import { readIgnoreFile, WORKSPACE_DOCKERIGNORE } from "../../stacks/lib/workspace-image";
import { root } from "./synth";

const buckets = { SPE_DATASET_BUCKETS: "hospital-a-datasets" };

describe("deploy-time configuration", () => {
  it("reads the dataset buckets (trimmed, deduplicated) and defaults retention to 365 days, grace to 30", () => {
    expect(
      readDeployConfig({ SPE_DATASET_BUCKETS: " hospital-a-datasets , registry-b-exports,hospital-a-datasets" }),
    ).toEqual({
      datasetBuckets: ["hospital-a-datasets", "registry-b-exports"],
      auditRetentionDays: 365,
      keyGraceDays: 30,
    });
  });

  it("refuses to deploy without dataset buckets, saying how to set them", () => {
    for (const value of [undefined, "", " , "]) {
      expect(() => readDeployConfig({ SPE_DATASET_BUCKETS: value })).toThrow(
        /SPE_DATASET_BUCKETS is not set: set it to the comma-separated names .* npx sst deploy/,
      );
    }
  });

  it("refuses anything but bucket names in SPE_DATASET_BUCKETS", () => {
    for (const bad of ["s3://hospital-a-datasets", "hospital-a-datasets/cohort", "Hospital_A", "a", "x..y"]) {
      expect(() => readDeployConfig({ SPE_DATASET_BUCKETS: bad }), bad).toThrow(/is not an S3 bucket name/);
    }
  });

  it("refuses an audit retention under 365 days (or not a whole number), and above S3's 100 years", () => {
    expect(MIN_AUDIT_RETENTION_DAYS).toBe(365);
    for (const bad of ["364", "0", "-1", "365.5", "a year", "36501"]) {
      expect(() => readDeployConfig({ ...buckets, SPE_AUDIT_RETENTION_DAYS: bad }), bad).toThrow(
        `SPE_AUDIT_RETENTION_DAYS="${bad}" is invalid: set it to a whole number of days from 365 to 36500`,
      );
    }
    expect(readDeployConfig({ ...buckets, SPE_AUDIT_RETENTION_DAYS: "3650" }).auditRetentionDays).toBe(3650);
  });

  it("keeps the key grace period within what AwsEnv accepts (0 to 180 days)", () => {
    expect(readDeployConfig({ ...buckets, SPE_KEY_GRACE_DAYS: "0" }).keyGraceDays).toBe(0);
    expect(() => readDeployConfig({ ...buckets, SPE_KEY_GRACE_DAYS: "181" })).toThrow(/SPE_KEY_GRACE_DAYS/);
  });
});

describe("stage", () => {
  it("accepts what fits every runtime-created name and refuses the rest", () => {
    const stack = (stage: string) => ({ stage }) as Parameters<typeof stageOf>[0];
    expect(stageOf(stack("prod"))).toBe("prod");
    expect(stageOf(stack("dev-2"))).toBe("dev-2");
    for (const bad of ["Prod", "dev_2", "", "a".repeat(25), "x/y"]) {
      expect(() => stageOf(stack(bad)), bad).toThrow(/stage .* is invalid: use 1 to 24 lowercase letters/);
    }
  });
});

describe("secureBucket", () => {
  const scope = () => {
    const stack = new Stack(new App(), "T", { env: { account: "123456789012", region: "eu-west-1" } });
    return { stack, key: new Key(stack, "K"), logs: new Bucket(stack, "L") };
  };

  it("refuses a retention or a noncurrent-version delay that is not a whole number of days", () => {
    const { stack, key, logs } = scope();
    const base = { encryptionKey: key, accessLogs: logs, removalPolicy: RemovalPolicy.RETAIN };
    expect(() => secureBucket(stack, "A", { ...base, complianceRetentionDays: 0 })).toThrow(
      "complianceRetentionDays of A is 0: use a whole number of days, at least 1",
    );
    expect(() => secureBucket(stack, "B", { ...base, noncurrentVersionDays: 0.5 })).toThrow(
      "noncurrentVersionDays of B is 0.5: use a whole number of days, at least 1",
    );
  });
});

describe("workspace image exclude list", () => {
  it("excludes everything first, then lets back in only the Dockerfile's directory and the agent's source", () => {
    const patterns = readIgnoreFile(join(root, WORKSPACE_DOCKERIGNORE));
    expect(patterns[0]).toBe("*");
    expect(patterns.filter((p) => p.startsWith("!")).sort()).toEqual(["!packages/aws/src/agent/", "!workspace-image/"]);
    // What is re-excluded comes after the negations (the last matching pattern wins).
    const lastNegation = Math.max(...patterns.map((p, i) => (p.startsWith("!") ? i : -1)));
    for (const p of ["**/node_modules", "**/*.test.ts", "**/.env*"]) {
      expect(patterns.indexOf(p), p).toBeGreaterThan(lastNegation);
    }
  });
});

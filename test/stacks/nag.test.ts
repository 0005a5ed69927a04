/**
 * Whole-app checks: the cdk-nag AwsSolutions pack finds nothing unsuppressed, every suppression says why (and
 * IAM5 is only ever suppressed for named wildcards), nothing refers to a resource that is not there (SST's
 * custom-resource handler is removed), every log group and queue is encrypted, and the bundles stay small.
 */
import { statSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SST_NODEJS } from "../../functions/lib/bundling";
import { type Cfn, filesUnder, type Resource, resources, type StackName, type Synthesized, synthesize } from "./synth";

let synth: Synthesized;

beforeAll(async () => {
  synth = await synthesize({ nag: true });
}, 120_000);
afterAll(() => synth?.cleanup());

const templates = () => Object.entries(synth.templates) as [StackName, (typeof synth.templates)[StackName]][];
const allResources = (): [StackName, string, Resource & { Metadata?: Cfn }][] =>
  templates().flatMap(([stack, t]) =>
    Object.entries(t.toJSON().Resources as Record<string, Resource>).map(
      ([id, r]) => [stack, id, r] as [StackName, string, Resource],
    ),
  );

describe("cdk-nag (AwsSolutions)", () => {
  it("reports no unsuppressed error in any stack", () => {
    const errors = Object.entries(synth.nagErrors).flatMap(([stack, list]) =>
      list.map((e) => `${stack} ${e.path}: ${e.message.split(":")[0]}`),
    );
    expect(errors).toEqual([]);
  });

  it("gives every suppression a specific reason, and suppresses IAM5 only for named wildcards", () => {
    const suppressions = allResources().flatMap(([stack, id, r]) =>
      ((r.Metadata?.cdk_nag?.rules_to_suppress ?? []) as Cfn[]).map((s) => ({ where: `${stack}/${id}`, ...s })),
    );
    expect(suppressions.length).toBeGreaterThan(0);
    for (const s of suppressions) {
      expect(s.reason.length, `${s.where} ${s.id}`).toBeGreaterThanOrEqual(40);
      if (s.id === "AwsSolutions-IAM5") {
        expect(s.applies_to?.length, `${s.where}: IAM5 without appliesTo`).toBeGreaterThan(0);
        for (const a of s.applies_to as Cfn[]) expect(typeof a, `${s.where}: IAM5 by regex`).toBe("string");
      }
    }
    // Only these rules are ever suppressed: anything else must be fixed, not silenced.
    expect([...new Set(suppressions.map((s) => s.id))].sort()).toEqual(
      ["AwsSolutions-APIG4", "AwsSolutions-IAM5", "AwsSolutions-L1", "AwsSolutions-SQS3"].sort(),
    );
  });
});

describe("the synthesized app", () => {
  it("has exactly the app's seven functions: no SST custom-resource handler, no CDK helper Lambda", () => {
    const fns = allResources().filter(([, , r]) => r.Type === "AWS::Lambda::Function");
    expect(fns.map(([, , r]) => r.Properties.Handler).sort()).toEqual(
      ["api", "archive-audit", "expire", "provision", "seal-audit", "sweep", "task-events"].map(
        (k) => `functions/${k}.handler`,
      ),
    );
    expect(
      allResources().filter(
        ([, , r]) => r.Type.startsWith("Custom::") || r.Type === "AWS::CloudFormation::CustomResource",
      ),
    ).toEqual([]);
  });

  it("keeps the bundles' source maps out of SST's upload path (which needed the removed handler)", () => {
    expect(SST_NODEJS.sourcemap).toBeDefined();
  });

  it("refers only to resources, parameters and pseudo parameters that exist in the same template", () => {
    for (const [stack, t] of templates()) {
      const json = t.toJSON();
      const known = new Set([...Object.keys(json.Resources ?? {}), ...Object.keys(json.Parameters ?? {})]);
      const refs: string[] = [];
      const walk = (v: Cfn): void => {
        if (Array.isArray(v)) {
          for (const x of v) walk(x);
        } else if (v && typeof v === "object") {
          if (typeof v.Ref === "string") refs.push(v.Ref);
          if (Array.isArray(v["Fn::GetAtt"])) refs.push(v["Fn::GetAtt"][0]);
          for (const x of Object.values(v)) walk(x);
        }
      };
      walk(json.Resources);
      walk(json.Outputs);
      for (const r of Object.values(json.Resources as Record<string, Resource>))
        for (const d of r.DependsOn ?? []) refs.push(d);
      const dangling = refs.filter((r) => !r.startsWith("AWS::") && !known.has(r));
      expect(dangling, stack).toEqual([]);
    }
  });

  it("encrypts every log group with a KMS key and expires it; encrypts every queue; attaches no AWS managed policy", () => {
    for (const [stack, id, r] of allResources()) {
      if (r.Type === "AWS::Logs::LogGroup") {
        expect(r.Properties.KmsKeyId, `${stack}/${id}`).toBeDefined();
        expect(r.Properties.RetentionInDays, `${stack}/${id}`).toBeGreaterThan(0);
      }
      if (r.Type === "AWS::SQS::Queue") expect(r.Properties.KmsMasterKeyId, `${stack}/${id}`).toBeDefined();
      if (r.Type === "AWS::IAM::Role") expect(r.Properties.ManagedPolicyArns, `${stack}/${id}`).toBeUndefined();
    }
  });

  it("keeps every function bundle small (code under 2 MiB) and lists the sizes", () => {
    const sizes = Object.entries(synth.functions).map(([key, fn]) => {
      const files = filesUnder(synth.bundleDir(fn));
      const bytes = (f: (name: string) => boolean) => files.filter(f).reduce((n, file) => n + statSync(file).size, 0);
      return { key, code: bytes((f) => f.endsWith(".mjs")), maps: bytes((f) => f.endsWith(".map")) };
    });
    console.log(
      sizes
        .map(
          (s) => `${s.key.padEnd(14)} code ${(s.code / 1024).toFixed(0)} KiB, maps ${(s.maps / 1024).toFixed(0)} KiB`,
        )
        .join("\n"),
    );
    expect(sizes).toHaveLength(7);
    for (const s of sizes) expect(s.code, s.key).toBeLessThan(2 * 1024 * 1024);
  });

  it("keeps the table, the keys, the user pool and the audit archive when a stack is deleted or replaced", () => {
    const retained = allResources().filter(([, , r]) =>
      ["AWS::DynamoDB::Table", "AWS::KMS::Key", "AWS::Cognito::UserPool"].includes(r.Type),
    );
    expect(retained).toHaveLength(4);
    for (const [stack, id, r] of retained) {
      expect(r, `${stack}/${id}`).toMatchObject({ DeletionPolicy: "Retain", UpdateReplacePolicy: "Retain" });
    }
    const archive = resources(synth.templates.Storage, "AWS::S3::Bucket").find(([id]) => id.startsWith("AuditArchive"));
    expect(archive![1]).toMatchObject({ DeletionPolicy: "Retain", UpdateReplacePolicy: "Retain" });
  });
});

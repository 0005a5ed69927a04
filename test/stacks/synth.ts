/**
 * Synthesizes the whole SST app offline, as `sst deploy` would but without AWS credentials or Docker: functions
 * really bundled with esbuild, the workspace image's build context really staged. Each stacks test file calls
 * `synthesize()` once in its beforeAll and reads the templates (vitest runs each file in its own process).
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Aspects } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { AwsSolutionsChecks } from "cdk-nag";
import { App, getStack, use } from "sst/constructs";
import { initProject, setProject, useProject } from "sst/project.js";
import config from "../../sst.config";
import { Api } from "../../stacks/api";
import { Audit } from "../../stacks/audit";
import { Auth } from "../../stacks/auth";
import { Keys } from "../../stacks/keys";
import { Lifecycle } from "../../stacks/lifecycle";
import { Network } from "../../stacks/network";
import { State } from "../../stacks/state";
import { Storage } from "../../stacks/storage";
import { Workspaces } from "../../stacks/workspaces";

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON, read field by field in the assertions
export type Cfn = any;
export type Resource = {
  Type: string;
  Properties?: Cfn;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
  DependsOn?: string[];
};

export const root = join(dirname(fileURLToPath(import.meta.url)), "../..");

/** The deploy-time configuration every synthesis here uses. */
export const DEPLOY_ENV = {
  SPE_DATASET_BUCKETS: "hospital-a-datasets, registry-b-exports",
  SPE_AUDIT_RETENTION_DAYS: "400",
} as const;

export const STACKS = { Keys, State, Storage, Network, Auth, Workspaces, Lifecycle, Audit, Api } as const;
export type StackName = keyof typeof STACKS;

export interface Synthesized {
  templates: Record<StackName, Template>;
  /** cdk-nag errors (AwsSolutions-*) per stack, when synthesized with `nag`. */
  nagErrors: Record<StackName, { path: string; message: string }[]>;
  /** The cloud assembly directory (templates, staged assets). */
  assemblyDir: string;
  /** The bundle directory of a function (construct of the Lifecycle, Audit or Api stack). */
  bundleDir(fn: { node: { addr: string } }): string;
  /** The functions, by handler file. */
  functions: Record<string, { node: { addr: string } }>;
  cleanup(): void;
}

/**
 * Synthesizes every stack once.
 * @param nag run the AwsSolutions cdk-nag pack on the app (adds its annotations; a little slower).
 */
export async function synthesize(opts: { nag?: boolean } = {}): Promise<Synthesized> {
  const out = mkdtempSync(join(tmpdir(), "spe-stacks-"));
  Object.assign(process.env, DEPLOY_ENV);

  await initProject({ stage: "test", root });
  // SST writes its build output (types, function bundles) under <root>/.sst: send it to a temp dir instead.
  // Only its debug log, opened by initProject, stays in <root>/.sst (gitignored). It is not removed afterwards:
  // the stacks test files run in parallel and share it.
  const project = useProject();
  setProject({ ...project, paths: { ...project.paths, out, artifacts: join(out, "artifacts") } });

  const assemblyDir = join(out, "cdk.out");
  const app = new App(
    { mode: "deploy", stage: "test", name: "spe-controller", region: "eu-west-1", account: "123456789012" },
    { outdir: assemblyDir },
  );
  await config.stacks(app);
  if (opts.nag) Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
  // Runs SST's deferred tasks: bundles the functions and sets their real code, handler and runtime (without it
  // every function is still an inline placeholder). Offline: under NODE_ENV=test (vitest) SST skips its
  // bootstrap-stack lookup, the one step that would call AWS.
  await app.finish();

  // One synthesis only: SST checks construct ids with an aspect that fails when run twice, so the annotations
  // are read from the assembly of that synthesis (what `Annotations.fromStack` would re-synthesize to get).
  const assembly = app.synth();
  const templates = {} as Record<StackName, Template>;
  const nagErrors = {} as Synthesized["nagErrors"];
  for (const [name, fn] of Object.entries(STACKS) as [StackName, (typeof STACKS)[StackName]][]) {
    const artifact = assembly.getStackArtifact(getStack(fn).artifactId);
    templates[name] = Template.fromJSON(artifact.template);
    nagErrors[name] = artifact.messages
      .filter((m) => m.level === "error" && /^AwsSolutions-/.test(String(m.entry.data)))
      .map((m) => ({ path: m.id, message: String(m.entry.data) }));
  }
  const lifecycle = use(Lifecycle);
  const audit = use(Audit);
  const functions = {
    api: use(Api).handler,
    provision: lifecycle.provision,
    expire: lifecycle.expire,
    sweep: lifecycle.sweep,
    "task-events": lifecycle.taskEvents,
    "archive-audit": audit.archive,
    "seal-audit": audit.seal,
  };
  return {
    templates,
    nagErrors,
    assemblyDir,
    functions,
    bundleDir: (fn) => join(out, "artifacts", fn.node.addr),
    cleanup() {
      rmSync(out, { recursive: true, force: true });
    },
  };
}

/** All files under a directory, recursively. */
export function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).isFile());
}

/** The resources of a type in a template, with their logical ids. */
export function resources(template: Template, type: string): [string, Resource][] {
  return Object.entries(template.findResources(type)) as [string, Resource][];
}

/** Every IAM statement attached to a role (inline policies of AWS::IAM::Policy resources naming it). */
export function roleStatements(template: Template, roleLogicalId: string): Cfn[] {
  return resources(template, "AWS::IAM::Policy")
    .filter(([, p]) => (p.Properties.Roles as Cfn[]).some((r) => r.Ref === roleLogicalId))
    .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Cfn[]);
}

/** The logical id of the role a Lambda function runs as. */
export function functionRoleId(fn: Resource): string {
  return fn.Properties.Role["Fn::GetAtt"][0] as string;
}

/**
 * A CloudFormation value as one string: `Fn::Join` joined, the pseudo parameters as this synthesis's (`aws`,
 * `eu-west-1`, `123456789012`), other references as
 * `<LogicalId>` / `<LogicalId.Attr>` and imports as `<import:ExportName>`, so ARNs can be compared as text.
 */
export function render(value: Cfn): string {
  if (typeof value === "string" || typeof value === "number") return String(value);
  if (Array.isArray(value)) return value.map(render).join(",");
  if (value?.Ref === "AWS::Partition") return "aws";
  if (value?.Ref === "AWS::Region") return "eu-west-1";
  if (value?.Ref === "AWS::AccountId") return "123456789012";
  if (value?.Ref) return `<${value.Ref}>`;
  if (value?.["Fn::GetAtt"]) return `<${value["Fn::GetAtt"].join(".")}>`;
  if (value?.["Fn::ImportValue"]) return `<import:${value["Fn::ImportValue"]}>`;
  if (value?.["Fn::Join"]) return (value["Fn::Join"][1] as Cfn[]).map(render).join(value["Fn::Join"][0]);
  return JSON.stringify(value);
}

/** The single resource of a type in a template, with its logical id. */
export function only(template: Template, type: string): [string, Resource] {
  const found = resources(template, type);
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  return found[0] as [string, Resource];
}

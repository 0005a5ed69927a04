/**
 * Template assertions on the synthesized stacks, offline and without AWS credentials: the promises the
 * infrastructure makes (runtime, a JWT authorizer on every route but the public ones, encrypted and retained
 * state, MFA ...). The Lambda bundle is really built with esbuild, as `sst deploy` builds it, and checked too.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Match, Template } from "aws-cdk-lib/assertions";
import { App, getStack, use } from "sst/constructs";
import { initProject, setProject, useProject } from "sst/project.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import config from "../../sst.config";
import { Api } from "../../stacks/api";
import { Keys } from "../../stacks/keys";
import { State } from "../../stacks/state";

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON, read field by field in the assertions
type Cfn = any;
type Resource = { Type: string; Properties?: Cfn; DeletionPolicy?: string; UpdateReplacePolicy?: string };

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
const out = mkdtempSync(join(tmpdir(), "spe-stacks-"));
let keys: Template;
let state: Template;
let api: Template;
let bundleDir: string;
const hadSstDir = existsSync(join(root, ".sst"));

/** The single resource of a type in a template, with its logical id. */
function only(template: Template, type: string): [string, Resource] {
  const found = Object.entries(template.findResources(type)) as [string, Resource][];
  expect(found, type).toHaveLength(1);
  return found[0]!;
}

/** All files under a directory, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).isFile());
}

beforeAll(async () => {
  await initProject({ stage: "test", root });
  // SST writes its build output (types, function bundles) under <root>/.sst: send it to a temp dir instead.
  // Only its debug log, opened by initProject, stays in <root>/.sst.
  const project = useProject();
  setProject({ ...project, paths: { ...project.paths, out, artifacts: join(out, "artifacts") } });

  const app = new App(
    { mode: "deploy", stage: "test", name: "spe-controller", region: "eu-west-1", account: "123456789012" },
    { outdir: join(out, "cdk.out") },
  );
  await config.stacks(app);
  // Runs SST's deferred tasks: bundles the functions and sets their real code, handler and runtime (without it
  // every function is still an inline placeholder). Offline: under NODE_ENV=test (vitest) SST skips its
  // bootstrap-stack lookup, the one step that would call AWS.
  await app.finish();

  keys = Template.fromStack(getStack(Keys));
  state = Template.fromStack(getStack(State));
  api = Template.fromStack(getStack(Api));
  bundleDir = join(out, "artifacts", use(Api).handler.node.addr);
}, 60_000);

afterAll(() => {
  rmSync(out, { recursive: true, force: true });
  if (!hadSstDir) rmSync(join(root, ".sst"), { recursive: true, force: true });
});

describe("Keys stack", () => {
  it("creates the platform key with rotation, kept on stack deletion, under a per-stage alias", () => {
    const [keyId, key] = only(keys, "AWS::KMS::Key");
    expect(key.Properties?.EnableKeyRotation).toBe(true);
    expect(key.DeletionPolicy).toBe("Retain");
    expect(key.UpdateReplacePolicy).toBe("Retain");
    keys.hasResourceProperties("AWS::KMS::Alias", {
      AliasName: "alias/spe-test-platform",
      TargetKeyId: Match.objectLike({ "Fn::GetAtt": [keyId, "Arn"] }),
    });
  });
});

describe("State stack", () => {
  it("creates one pk/sk table: on demand, PITR, NEW_IMAGE stream, encrypted with the platform key, retained", () => {
    const [, table] = only(state, "AWS::DynamoDB::Table");
    expect(table.DeletionPolicy).toBe("Retain");
    expect(table.UpdateReplacePolicy).toBe("Retain");
    const p = table.Properties!;
    expect(p.KeySchema).toEqual([
      { AttributeName: "pk", KeyType: "HASH" },
      { AttributeName: "sk", KeyType: "RANGE" },
    ]);
    expect(p.BillingMode).toBe("PAY_PER_REQUEST");
    expect(p.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    expect(p.StreamSpecification).toEqual({ StreamViewType: "NEW_IMAGE" });
    expect(p.SSESpecification).toMatchObject({ SSEEnabled: true, SSEType: "KMS" });

    // The key is the Keys stack's customer managed key (imported across stacks), not the AWS owned one.
    const importName = p.SSESpecification.KMSMasterKeyId["Fn::ImportValue"];
    const [keyId] = only(keys, "AWS::KMS::Key");
    const exported = Object.values(keys.toJSON().Outputs as Record<string, Cfn>).find(
      (o) => o.Export?.Name === importName,
    );
    expect(exported?.Value).toEqual({ "Fn::GetAtt": [keyId, "Arn"] });
  });
});

describe("Api stack", () => {
  it("runs the API handler on nodejs22.x, arm64, from a real bundle", () => {
    const fns = Object.values(api.findResources("AWS::Lambda::Function")) as Resource[];
    const fn = fns.find((f) => f.Properties?.Handler === "functions/api.handler");
    expect(fn, "the functions/api.handler Lambda").toBeDefined();
    expect(fn!.Properties).toMatchObject({ Runtime: "nodejs22.x", Architectures: ["arm64"] });
    expect(fn!.Properties!.Code).toHaveProperty("S3Key");
    expect(fn!.Properties!.Code).not.toHaveProperty("ZipFile");
    expect(Object.keys(fn!.Properties!.Environment.Variables)).toEqual(
      expect.arrayContaining(["SPE_TABLE_NAME", "SPE_JWT_ISSUER", "SPE_JWT_JWKS_URL"]),
    );
  });

  it("has a JWT authorizer whose issuer and audience are the user pool and its client", () => {
    const [poolId] = only(api, "AWS::Cognito::UserPool");
    const [clientId] = only(api, "AWS::Cognito::UserPoolClient");
    const [, authorizer] = only(api, "AWS::ApiGatewayV2::Authorizer");
    expect(authorizer.Properties).toMatchObject({
      AuthorizerType: "JWT",
      IdentitySource: ["$request.header.Authorization"],
      JwtConfiguration: { Audience: [{ Ref: clientId }] },
    });
    expect(JSON.stringify(authorizer.Properties!.JwtConfiguration.Issuer)).toContain(`{"Ref":"${poolId}"}`);
    expect(JSON.stringify(authorizer.Properties!.JwtConfiguration.Issuer)).toContain("https://cognito-idp.");
  });

  it("leaves only GET /health and GET /openapi.json without authorizer", () => {
    const [authorizerId] = only(api, "AWS::ApiGatewayV2::Authorizer");
    const routes = Object.values(api.findResources("AWS::ApiGatewayV2::Route")) as Resource[];
    const byKey = Object.fromEntries(routes.map((r) => [r.Properties!.RouteKey as string, r.Properties!]));
    expect(Object.keys(byKey).sort()).toEqual(["$default", "GET /health", "GET /openapi.json"]);
    for (const [key, route] of Object.entries(byKey)) {
      if (key === "GET /health" || key === "GET /openapi.json") {
        expect(route.AuthorizationType, key).toBe("NONE");
        expect(route.AuthorizerId, key).toBeUndefined();
      } else {
        expect(route.AuthorizationType, key).toBe("JWT");
        expect(route.AuthorizerId, key).toEqual({ Ref: authorizerId });
      }
    }
  });

  it("grants the handler read-write on the table and encrypt/decrypt on the platform key", () => {
    const statements = Object.values(api.findResources("AWS::IAM::Policy")).flatMap(
      (p: Cfn) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[],
    );
    const actions = new Set(statements.flatMap((s) => s.Action));
    for (const a of ["dynamodb:PutItem", "dynamodb:Query", "dynamodb:ConditionCheckItem", "kms:Encrypt", "kms:Decrypt"])
      expect(actions, a).toContain(a);
    const kmsResources = JSON.stringify(statements.filter((s) => [s.Action].flat().includes("kms:Encrypt")));
    expect(kmsResources).toContain("Keys:ExportsOutputFnGetAttPlatformKey");
  });

  it("creates a user pool that requires MFA and lets only admins create users, kept on stack deletion", () => {
    const [, pool] = only(api, "AWS::Cognito::UserPool");
    expect(pool.Properties).toMatchObject({
      MfaConfiguration: "ON",
      EnabledMfas: ["SOFTWARE_TOKEN_MFA"],
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
    });
    expect(pool.DeletionPolicy).toBe("Retain");
  });

  it("sends no CORS headers: the callers are the CLI and servers, not browsers", () => {
    const [, httpApi] = only(api, "AWS::ApiGatewayV2::Api");
    expect(httpApi.Properties).not.toHaveProperty("CorsConfiguration");
  });

  it("outputs the API URL", () => {
    api.hasOutput("ApiUrl", {});
  });
});

describe("API bundle", () => {
  it("is small and holds neither aws-sdk v2, nor better-sqlite3, nor the single-node adapters", () => {
    const files = filesUnder(bundleDir);
    const bytes = files.reduce((n, f) => n + statSync(f).size, 0);
    expect(bytes).toBeLessThan(2 * 1024 * 1024);

    const entry = files.find((f) => f.endsWith(join("functions", "api.mjs")));
    expect(entry, "the bundled functions/api.mjs").toBeDefined();
    const code = readFileSync(entry!, "utf8");
    // esbuild marks where each input module starts (`// node_modules/hono/dist/...`): the check is meaningful.
    expect(code).toMatch(/^\/\/ packages\/api\/src\/app\.ts$/m);
    expect(code).not.toMatch(/^\/\/ .*node_modules\/(aws-sdk|better-sqlite3)\//m);
    expect(code).not.toMatch(/^\/\/ packages\/local\//m);
    expect(code).not.toMatch(/(from |require\()["'](aws-sdk|better-sqlite3)["'/]/);
    expect(files.some((f) => f.includes("node_modules"))).toBe(false);
  });

  it("answers /health and /openapi.json, and 503 aws.adapter_pending on /v1 until the AWS adapters land", () => {
    const entry = filesUnder(bundleDir).find((f) => f.endsWith(join("functions", "api.mjs")))!;
    // The bundle runs in its own node process, as on Lambda, with the environment the stack sets.
    const script = `
      const { handler } = await import(process.argv[1]);
      const call = async (path) => {
        const http = { method: "GET", path, protocol: "HTTP/1.1", sourceIp: "192.0.2.1", userAgent: "test" };
        const event = { version: "2.0", routeKey: "$default", rawPath: path, rawQueryString: "", isBase64Encoded: false,
          headers: { host: "api.example" }, requestContext: { http, domainName: "api.example", requestId: "r1",
          routeKey: "$default", stage: "$default", accountId: "123456789012", apiId: "a1", time: "", timeEpoch: 0 } };
        const res = await handler(event, {});
        const body = res.isBase64Encoded ? Buffer.from(res.body, "base64").toString() : res.body;
        return { path, status: res.statusCode, type: res.headers["content-type"], body: JSON.parse(body) };
      };
      const results = [];
      for (const path of ["/health", "/openapi.json", "/v1/permits"]) results.push(await call(path));
      process.stdout.write("\\nRESULT " + JSON.stringify(results));
    `;
    const issuer = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TEST";
    const stdout = execFileSync(process.execPath, ["--input-type=module", "-e", script, pathToFileURL(entry).href], {
      env: { PATH: process.env.PATH, SPE_JWT_ISSUER: issuer, SPE_JWT_JWKS_URL: `${issuer}/.well-known/jwks.json` },
      encoding: "utf8",
    });
    const [health, openapi, permits] = JSON.parse(stdout.split("\nRESULT ")[1]!);
    expect(health).toMatchObject({ status: 200, body: { status: "ok" } });
    expect(openapi).toMatchObject({ status: 200, body: { openapi: "3.1.0" } });
    expect(permits).toMatchObject({
      status: 503,
      type: "application/problem+json",
      body: { status: 503, code: "aws.adapter_pending" },
    });
  });
});

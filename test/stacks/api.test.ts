/**
 * Template assertions on the Auth and Api stacks (who may sign in, which routes need a token, what the access
 * logs record), and the API bundle itself: built with esbuild as `sst deploy` builds it, then run in its own
 * node process with the environment the stacks give it.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Template } from "aws-cdk-lib/assertions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AwsEnv, ConsoleEnv } from "../../packages/aws/src/config";
import { PUBLIC_ROUTES } from "../../stacks/api";
import { ROLE_GROUPS } from "../../stacks/auth";
import { type Cfn, filesUnder, only, render, resources, type Synthesized, synthesize } from "./synth";

let synth: Synthesized;
let auth: Template;
let api: Template;

beforeAll(async () => {
  synth = await synthesize();
  ({ Auth: auth, Api: api } = synth.templates);
}, 120_000);
afterAll(() => synth?.cleanup());

describe("Auth stack", () => {
  it("requires MFA (TOTP), lets only admins create users, enforces threat protection, is kept and delete-protected", () => {
    const [, pool] = only(auth, "AWS::Cognito::UserPool");
    expect(pool.Properties).toMatchObject({
      MfaConfiguration: "ON",
      EnabledMfas: ["SOFTWARE_TOKEN_MFA"],
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
      UserPoolAddOns: { AdvancedSecurityMode: "ENFORCED" },
      DeletionProtection: "ACTIVE",
      Policies: {
        PasswordPolicy: {
          MinimumLength: 14,
          RequireLowercase: true,
          RequireUppercase: true,
          RequireNumbers: true,
          RequireSymbols: true,
        },
      },
    });
    expect(pool).toMatchObject({ DeletionPolicy: "Retain", UpdateReplacePolicy: "Retain" });
  });

  it("has one group per role of the security model, and no other", () => {
    const groups = resources(auth, "AWS::Cognito::UserPoolGroup").map(([, g]) => g.Properties.GroupName);
    expect(groups.sort()).toEqual(["admin", "auditor", "researcher", "reviewer"]);
    expect([...ROLE_GROUPS].sort()).toEqual(groups.sort());
  });

  it("gives the CLI a public client: SRP sign-in only, no secret, no OAuth flows", () => {
    const [, client] = only(auth, "AWS::Cognito::UserPoolClient");
    expect(client.Properties).toMatchObject({
      ExplicitAuthFlows: ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
      GenerateSecret: false,
      AllowedOAuthFlowsUserPoolClient: false,
      PreventUserExistenceErrors: "ENABLED",
    });
    auth.hasOutput("UserPoolId", {});
    auth.hasOutput("UserPoolClientId", {});
  });
});

describe("Api stack", () => {
  const routes = () =>
    Object.fromEntries(
      resources(api, "AWS::ApiGatewayV2::Route").map(([, r]) => [r.Properties.RouteKey as string, r.Properties]),
    );

  it("has a JWT authorizer whose issuer and audience are the user pool and its CLI client", () => {
    const [, authorizer] = only(api, "AWS::ApiGatewayV2::Authorizer");
    expect(authorizer.Properties).toMatchObject({
      AuthorizerType: "JWT",
      IdentitySource: ["$request.header.Authorization"],
    });
    const { Issuer: issuer, Audience: audience } = authorizer.Properties.JwtConfiguration;
    expect(render(issuer)).toMatch(
      /^https:\/\/cognito-idp\.eu-west-1\.amazonaws\.com\/<import:test-spe-controller-Auth:ExportsOutputRefUserPool[0-9A-F]+>$/,
    );
    expect(audience.map(render)).toEqual([
      expect.stringMatching(/^<import:test-spe-controller-Auth:ExportsOutputRefUserPoolCliClient/),
    ]);
  });

  it("requires the JWT on every route but the public ones, and the public ones are exactly these", () => {
    const [authorizerId] = only(api, "AWS::ApiGatewayV2::Authorizer");
    const byKey = routes();
    expect(Object.keys(byKey).sort()).toEqual(
      [
        "$default",
        "GET /health",
        "GET /openapi.json",
        "GET /dl/{grant}/{secret}",
        "ANY /console",
        "ANY /console/{proxy+}",
      ].sort(),
    );
    expect(Object.keys(PUBLIC_ROUTES).sort()).toEqual(
      Object.keys(byKey)
        .filter((k) => k !== "$default")
        .sort(),
    );
    for (const [key, route] of Object.entries(byKey)) {
      if (key in PUBLIC_ROUTES) {
        expect(route.AuthorizationType, key).toBe("NONE");
        expect(route.AuthorizerId, key).toBeUndefined();
      } else {
        expect(route.AuthorizationType, key).toBe("JWT");
        expect(route.AuthorizerId, key).toEqual({ Ref: authorizerId });
      }
    }
  });

  it("sends every route to the one API function", () => {
    const integrations = resources(api, "AWS::ApiGatewayV2::Integration");
    expect(integrations).toHaveLength(Object.keys(routes()).length);
    const [handlerId] = resources(api, "AWS::Lambda::Function").find(
      ([, f]) => f.Properties.Handler === "functions/api.handler",
    )!;
    for (const [id, i] of integrations) {
      expect(i.Properties, id).toMatchObject({
        IntegrationType: "AWS_PROXY",
        PayloadFormatVersion: "2.0",
        IntegrationUri: { "Fn::GetAtt": [handlerId, "Arn"] },
      });
    }
  });

  it("logs access to an encrypted log group, naming the route template, never the path or query", () => {
    const [, stage] = only(api, "AWS::ApiGatewayV2::Stage");
    const { DestinationArn: destination, Format: format } = stage.Properties.AccessLogSettings;
    const logsId = destination["Fn::GetAtt"][0];
    const logs = api.toJSON().Resources[logsId];
    expect(logs.Type).toBe("AWS::Logs::LogGroup");
    expect(logs.Properties.RetentionInDays).toBe(365);
    expect(render(logs.Properties.KmsKeyId)).toMatch(/PlatformKey/);
    const fields = JSON.parse(format) as Record<string, string>;
    expect(fields.routeKey).toBe("$context.routeKey");
    // `/dl/{grant}/{secret}` carries its secret in the path: the path must never be logged.
    expect(format).not.toMatch(
      /\$context\.(path|resourcePath)|querystring|\$input|\$context\.authorizer\.claims\.email/i,
    );
  });

  it("throttles by default and sends no CORS headers (the callers are the CLI, servers and the same-origin console)", () => {
    const [, stage] = only(api, "AWS::ApiGatewayV2::Stage");
    expect(stage.Properties.DefaultRouteSettings).toMatchObject({
      ThrottlingBurstLimit: 200,
      ThrottlingRateLimit: 100,
    });
    const [, httpApi] = only(api, "AWS::ApiGatewayV2::Api");
    expect(httpApi.Properties).not.toHaveProperty("CorsConfiguration");
    api.hasOutput("ApiUrl", {});
  });
});

describe("the web console on AWS", () => {
  it("signs in through the hosted UI: a public code+PKCE client whose only callback is this API's console", () => {
    only(auth, "AWS::Cognito::UserPoolDomain");
    const [, client] = only(api, "AWS::Cognito::UserPoolClient");
    expect(client.Properties).toMatchObject({
      GenerateSecret: false,
      AllowedOAuthFlowsUserPoolClient: true,
      AllowedOAuthFlows: ["code"],
      AllowedOAuthScopes: ["openid", "email", "profile"],
      SupportedIdentityProviders: ["COGNITO"],
      PreventUserExistenceErrors: "ENABLED",
    });
    expect(client.Properties.CallbackURLs.map(render)).toEqual([expect.stringMatching(/\/console\/oidc\/callback$/)]);
    expect(client.Properties.AllowedOAuthFlows).not.toContain("implicit");
  });

  it("gives the API function, and only it, the console's settings", () => {
    const [, fn] = resources(api, "AWS::Lambda::Function").find(([id]) => id.startsWith("ApiHandler")) ?? [];
    const vars = Object.keys(fn?.Properties.Environment.Variables ?? {});
    for (const name of Object.keys(ConsoleEnv.shape)) expect(vars, name).toContain(name);
    for (const [stack, t] of Object.entries(synth.templates)) {
      for (const [id, other] of resources(t, "AWS::Lambda::Function")) {
        if (id.startsWith("ApiHandler")) continue;
        const names = Object.keys(other.Properties.Environment?.Variables ?? {});
        expect(
          names.filter((n) => n in ConsoleEnv.shape),
          `${stack}/${id}`,
        ).toEqual([]);
      }
    }
  });
});

describe("API bundle", () => {
  const bundle = () => {
    const files = filesUnder(synth.bundleDir(synth.functions.api!));
    const entry = files.find((f) => f.endsWith(join("functions", "api.mjs")));
    expect(entry, "the bundled functions/api.mjs").toBeDefined();
    return { files, entry: entry! };
  };

  it("holds neither aws-sdk v2, nor better-sqlite3, nor the single-node adapters, nor node_modules", () => {
    const { files, entry } = bundle();
    // The code is minified; its source map lists every module that went in.
    const sources = (JSON.parse(readFileSync(`${entry}.map`, "utf8")) as { sources: string[] }).sources;
    expect(sources.some((s) => s.endsWith("packages/api/src/app.ts"))).toBe(true);
    expect(sources.some((s) => /node_modules\/@aws-sdk\/client-dynamodb\//.test(s))).toBe(true);
    expect(sources.filter((s) => /node_modules\/(aws-sdk|better-sqlite3)\//.test(s))).toEqual([]);
    expect(sources.filter((s) => /packages\/local\//.test(s))).toEqual([]);
    expect(readFileSync(entry, "utf8")).not.toMatch(/(from |require\()["'](aws-sdk|better-sqlite3)["'/]/);
    expect(files.some((f) => f.includes("node_modules"))).toBe(false);
  });

  it("answers /health and /openapi.json with the stacks' environment, and fails closed on /v1 without AWS", () => {
    const { entry } = bundle();
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
    // Every variable the stacks set, with the shapes they have once deployed (AwsEnv checks them at cold start).
    const issuer = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TEST";
    const env: Record<string, string> = {
      SPE_STAGE: "test",
      SPE_TABLE_NAME: "spe-table",
      SPE_BUCKET_STAGING: "spe-staging",
      SPE_BUCKET_OUTPUTS: "spe-outputs",
      SPE_BUCKET_QUARANTINE: "spe-quarantine",
      SPE_BUCKET_RELEASES: "spe-releases",
      SPE_BUCKET_AUDIT_ARCHIVE: "spe-audit-archive",
      SPE_BUCKET_WORKSPACES: "spe-workspaces",
      SPE_DATASET_BUCKETS: "hospital-a-datasets,registry-b-exports",
      SPE_AUDIT_KEY_ARN: "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000",
      SPE_CLUSTER_ARN: "arn:aws:ecs:eu-west-1:123456789012:cluster/spe",
      SPE_TASK_DEFINITION_ARN: "arn:aws:ecs:eu-west-1:123456789012:task-definition/spe-test-workspace",
      SPE_CONTAINER_NAME: "workspace",
      SPE_WORKSPACE_SUBNETS: "subnet-1,subnet-2",
      SPE_WORKSPACE_SECURITY_GROUP: "sg-123",
      SPE_TASK_ROLE_BOUNDARY_ARN: "arn:aws:iam::123456789012:policy/spe-test-task-boundary",
      SPE_TASK_ROLE_PATH: "/spe/test/",
      SPE_WORKSPACE_LOG_GROUP: "/spe/test/workspace-tasks",
      SPE_WORKSPACE_LOG_STREAM_PREFIX: "job",
      SPE_SCHEDULE_GROUP: "spe-test",
      SPE_SCHEDULER_ROLE_ARN: "arn:aws:iam::123456789012:role/scheduler",
      SPE_EXPIRE_FUNCTION_ARN: "arn:aws:lambda:eu-west-1:123456789012:function:spe-test-expire",
      SPE_PROVISION_FUNCTION_NAME: "spe-test-provision",
      SPE_PERMIT_KEY_PRINCIPALS: JSON.stringify({
        admins: ["arn:aws:iam::123456789012:role/spe-test-fn-api"],
        users: ["arn:aws:iam::123456789012:role/spe-test-fn-task-events"],
      }),
      SPE_JWT_ISSUER: issuer,
      SPE_JWT_JWKS_URL: `${issuer}/.well-known/jwks.json`,
      SPE_KEY_GRACE_DAYS: "30",
    };
    expect(Object.keys(env).sort()).toEqual(Object.keys(AwsEnv.shape).sort());
    // The API function alone also serves the console (ConsoleEnv); its key is fetched on the console's first use.
    const consoleEnv: Record<string, string> = {
      SPE_PLATFORM_KEY_ARN: "arn:aws:kms:eu-west-1:123456789012:key/11111111-1111-1111-1111-111111111111",
      SPE_CONSOLE_CLIENT_ID: "console-client",
      SPE_AUTH_DOMAIN_URL: "https://spe-test-123456789012.auth.eu-west-1.amazoncognito.com",
      SPE_CONSOLE_REDIRECT_URI: "https://a1.execute-api.eu-west-1.amazonaws.com/console/oidc/callback",
    };
    expect(Object.keys(consoleEnv).sort()).toEqual(Object.keys(ConsoleEnv.shape).sort());
    const stdout = execFileSync(process.execPath, ["--input-type=module", "-e", script, pathToFileURL(entry).href], {
      // As on Lambda: the role's credentials in the environment; every AWS call goes to a closed local port.
      env: {
        PATH: process.env.PATH,
        AWS_REGION: "eu-west-1",
        AWS_ENDPOINT_URL: "http://127.0.0.1:9",
        AWS_MAX_ATTEMPTS: "1",
        AWS_ACCESS_KEY_ID: "AKIATESTTESTTESTTEST",
        AWS_SECRET_ACCESS_KEY: "test",
        ...env,
        ...consoleEnv,
      },
      encoding: "utf8",
    });
    const [health, openapi, permits] = JSON.parse(stdout.split("\nRESULT ")[1]!) as Cfn[];
    expect(health).toMatchObject({ status: 200, body: { status: "ok" } });
    expect(openapi).toMatchObject({ status: 200, body: { openapi: "3.1.0" } });
    // The refusal is audited before it is answered; with AWS unreachable the API fails closed: no data, 503.
    expect(permits).toMatchObject({
      status: 503,
      type: "application/problem+json",
      body: { code: "audit.unavailable" },
    });
  });
});

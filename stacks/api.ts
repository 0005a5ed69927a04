/**
 * Api: the HTTP API (API Gateway HTTP API + one Lambda running the hono app). API Gateway checks the Cognito JWT
 * on every route except those that cannot carry one (listed below, each with its reason); the app verifies the
 * token again and takes the caller's roles from `cognito:groups`. Access logs go to an encrypted log group and
 * name the route template, never the path (download links carry their secret in the path).
 */
import { Duration } from "aws-cdk-lib";
import * as apigwv2 from "aws-cdk-lib/aws-apigatewayv2";
import * as cognito from "aws-cdk-lib/aws-cognito";
import * as iam from "aws-cdk-lib/aws-iam";
import * as logs from "aws-cdk-lib/aws-logs";
import { Api as HttpApi, type StackContext, use } from "sst/constructs";
import type { z } from "zod";
import { CONSOLE_KEY_PURPOSE } from "../packages/aws/src/bucket-layout";
import type { ConsoleEnv } from "../packages/aws/src/config";
import { Auth } from "./auth";
import { Keys } from "./keys";
import { speFunction } from "./lib/function";
import { grantDispatch, grantRuntime, grantScheduler } from "./lib/grants-compute";
import { grantAuditVerify, grantObjects, grantPermitKeys, grantSources, grantStore } from "./lib/grants-data";
import { suppress } from "./lib/nag";
import { useFunctionEnvironment } from "./lib/use-environment";
import { Lifecycle } from "./lifecycle";
import { State } from "./state";
import { Storage } from "./storage";
import { Workspaces } from "./workspaces";

/** One access-log line: who called which route, and the outcome. No path, no query string, no body. */
const ACCESS_LOG_FORMAT = JSON.stringify({
  requestId: "$context.requestId",
  requestTime: "$context.requestTime",
  httpMethod: "$context.httpMethod",
  routeKey: "$context.routeKey",
  status: "$context.status",
  responseLatency: "$context.responseLatency",
  integrationStatus: "$context.integrationStatus",
  error: "$context.error.message",
  authorizerError: "$context.authorizer.error",
  principal: "$context.authorizer.claims.sub",
  ip: "$context.identity.sourceIp",
  userAgent: "$context.identity.userAgent",
});

/** The routes API Gateway lets through without a JWT, each with why it cannot require one. */
export const PUBLIC_ROUTES = {
  "GET /health": "liveness probe: no data, public by design",
  "GET /openapi.json": "the API description: no data, public by design",
  "GET /dl/{grant}/{secret}":
    "one-time download links of released files: the link itself is the credential (a secret, short-lived, " +
    "use-counted grant the app checks), and the person it is handed to has no Cognito token",
  "ANY /console":
    "the browser console: browsers send no bearer token on navigation; the app authenticates every console " +
    "request with its own HttpOnly session cookie and CSRF tokens",
  "ANY /console/{proxy+}": "the browser console's pages and forms (see ANY /console): session cookie and CSRF tokens",
} as const;

export function Api({ stack }: StackContext) {
  const { platformKey, auditKey } = use(Keys);
  const { table } = use(State);
  const { buckets, datasetBuckets } = use(Storage);
  const ws = use(Workspaces);
  const lifecycle = use(Lifecycle);
  const { issuer, client, userPool, domain } = use(Auth);

  const handler = speFunction(stack, "ApiHandler", {
    key: "api",
    description: "SPE controller HTTP API (hono)",
    environment: useFunctionEnvironment(stack, lifecycle),
    logKey: platformKey,
    // API Gateway gives up after 30 seconds.
    timeout: Duration.seconds(29),
    memoryMiB: 1024,
  });
  grantStore(handler, table, platformKey);
  grantObjects(handler, "PermitData", [buckets.staging, buckets.outputs, buckets.quarantine, buckets.releases]);
  grantPermitKeys(handler, stack, "manage");
  grantAuditVerify(handler, auditKey);
  grantScheduler(handler, stack, lifecycle.scheduleGroupName, lifecycle.schedulerRole);
  grantDispatch(handler, lifecycle.provision);
  grantRuntime(handler, stack, { ...ws, workspaces: buckets.workspaces }, "operate");
  // Registering a dataset checks its source (lists it, reads its first byte).
  grantSources(handler, stack, datasetBuckets);

  const accessLogs = new logs.LogGroup(stack, "AccessLogs", {
    encryptionKey: platformKey,
    // Who called what, when: a year, for investigations (the audit trail is the record of actions).
    retention: logs.RetentionDays.ONE_YEAR,
  });

  const api = new HttpApi(stack, "Api", {
    // SST allows every origin by default; the API's callers are the CLI, servers and the same-origin console.
    cors: false,
    accessLog: { destinationArn: accessLogs.logGroupArn, format: ACCESS_LOG_FORMAT },
    authorizers: {
      // Cognito access tokens carry the client id in `client_id`, which API Gateway matches against the audience.
      cognito: { type: "jwt", jwt: { issuer, audience: [client.userPoolClientId] } },
    },
    defaults: { authorizer: "cognito", throttle: { burst: 200, rate: 100 } },
    routes: {
      ...Object.fromEntries(
        Object.keys(PUBLIC_ROUTES).map((route) => [route, { function: handler, authorizer: "none" }]),
      ),
      // Everything else (all of /v1) needs a valid token before the function is even invoked.
      $default: handler,
    },
  });
  for (const route of api.node.findAll()) {
    if (route instanceof apigwv2.CfnRoute && route.routeKey in PUBLIC_ROUTES) {
      suppress(route, "AwsSolutions-APIG4", PUBLIC_ROUTES[route.routeKey as keyof typeof PUBLIC_ROUTES]);
    }
  }

  // The web console's app client: authorization code + PKCE through the hosted UI, no secret (a public client),
  // its callback on this API. In this stack, not Auth, because the callback URL is this API's.
  const consoleUrl = `${api.url}/console`;
  const consoleClient = new cognito.UserPoolClient(stack, "ConsoleClient", {
    userPool,
    generateSecret: false,
    preventUserExistenceErrors: true,
    authFlows: {},
    oAuth: {
      flows: { authorizationCodeGrant: true },
      scopes: [cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.PROFILE],
      callbackUrls: [`${consoleUrl}/oidc/callback`],
      logoutUrls: [consoleUrl],
    },
    supportedIdentityProviders: [cognito.UserPoolClientIdentityProvider.COGNITO],
    accessTokenValidity: Duration.hours(1),
    idTokenValidity: Duration.hours(1),
    refreshTokenValidity: Duration.hours(8),
  });
  // packages/aws/src/config.ts ConsoleEnv: only this function serves the console.
  const consoleEnv: Record<keyof z.input<typeof ConsoleEnv>, string> = {
    SPE_PLATFORM_KEY_ARN: platformKey.keyArn,
    SPE_CONSOLE_CLIENT_ID: consoleClient.userPoolClientId,
    SPE_AUTH_DOMAIN_URL: domain.baseUrl(),
    SPE_CONSOLE_REDIRECT_URI: `${consoleUrl}/oidc/callback`,
  };
  for (const [name, value] of Object.entries(consoleEnv)) handler.addEnvironment(name, value);
  // The console's session-cookie key is a data key under the platform key, stored wrapped in the table
  // (packages/aws/src/console-key.ts): only this function, only with that encryption context.
  handler.addToRolePolicy(
    new iam.PolicyStatement({
      sid: "ConsoleSessionKey",
      actions: ["kms:GenerateDataKey", "kms:Decrypt"],
      resources: [platformKey.keyArn],
      conditions: {
        StringEquals: { [`kms:EncryptionContext:${CONSOLE_KEY_PURPOSE.name}`]: CONSOLE_KEY_PURPOSE.value },
      },
    }),
  );

  stack.addOutputs({ ApiUrl: api.url, ConsoleUrl: consoleUrl });
  return { api, handler, accessLogs } as const;
}

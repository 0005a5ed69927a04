/**
 * Api: the HTTP API (API Gateway HTTP API + one Lambda running the hono app) and the Cognito user pool
 * whose tokens it accepts. API Gateway checks the JWT on every route except the public /health and
 * /openapi.json; the app verifies the token again and takes the caller's roles from `cognito:groups`.
 */
import { Duration, RemovalPolicy } from "aws-cdk-lib";
import * as cognito from "aws-cdk-lib/aws-cognito";
import { Api as HttpApi, Function as SstFunction, type StackContext, use } from "sst/constructs";
import { Keys } from "./keys";
import { State } from "./state";

export function Api({ stack }: StackContext) {
  const { platformKey } = use(Keys);
  const { table } = use(State);

  // Identities of researchers, reviewers, admins and auditors: only admins create users, and MFA (TOTP) is required.
  const userPool = new cognito.UserPool(stack, "UserPool", {
    selfSignUpEnabled: false,
    signInAliases: { email: true },
    mfa: cognito.Mfa.REQUIRED,
    mfaSecondFactor: { sms: false, otp: true },
    passwordPolicy: { minLength: 14, requireSymbols: true, tempPasswordValidity: Duration.days(3) },
    accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  // The `spe` CLI signs in with SRP and sends the access token; no hosted UI, no client secret.
  const client = userPool.addClient("CliClient", {
    authFlows: { userSrp: true },
    disableOAuth: true,
    generateSecret: false,
    preventUserExistenceErrors: true,
  });
  const issuer = `https://cognito-idp.${stack.region}.amazonaws.com/${userPool.userPoolId}`;

  const handler = new SstFunction(stack, "ApiHandler", {
    handler: "functions/api.handler",
    description: "SPE controller HTTP API (hono)",
    environment: {
      SPE_TABLE_NAME: table.tableName,
      SPE_JWT_ISSUER: issuer,
      SPE_JWT_JWKS_URL: `${issuer}/.well-known/jwks.json`,
    },
  });
  table.grantReadWriteData(handler);
  platformKey.grantEncryptDecrypt(handler);

  const api = new HttpApi(stack, "Api", {
    // SST allows every origin by default; the API's callers are the CLI and servers, not browsers.
    cors: false,
    authorizers: {
      // Cognito access tokens carry the client id in `client_id`, which API Gateway matches against the audience.
      cognito: { type: "jwt", jwt: { issuer, audience: [client.userPoolClientId] } },
    },
    defaults: { authorizer: "cognito" },
    routes: {
      "GET /health": { function: handler, authorizer: "none" },
      "GET /openapi.json": { function: handler, authorizer: "none" },
      $default: handler,
    },
  });

  stack.addOutputs({
    ApiUrl: api.url,
    UserPoolId: userPool.userPoolId,
    UserPoolClientId: client.userPoolClientId,
  });
  return { api, handler, userPool, client } as const;
}

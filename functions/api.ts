/**
 * Lambda entrypoint of the HTTP API (API Gateway HTTP API, payload v2): the same hono app as `npm start`,
 * over the AWS adapters, with the web console signing in through Cognito's hosted UI (authorization code +
 * PKCE). Provisioning is dispatched as an asynchronous invoke of the provision function; the handler awaits
 * those invokes before returning (a frozen Lambda would otherwise drop them).
 */
import { createApp, jwtVerifier } from "@spe/api";
import { readConsoleConfig } from "@spe/aws";
import { consoleSessionKey } from "@spe/aws/console-key";
import { handle } from "hono/aws-lambda";
import { aws, config as configOf, log } from "./lib/aws";

const config = configOf();
const web = readConsoleConfig(process.env);
const a = aws();
const app = createApp({
  ...a.deps,
  signer: a.signer,
  // API Gateway has checked the token already (issuer, expiry, client id); the app checks signature and
  // issuer again and reads the roles. No audience: Cognito access tokens carry `client_id`, not `aud`.
  verifyToken: jwtVerifier({ external: { issuer: config.SPE_JWT_ISSUER, jwksUrl: config.SPE_JWT_JWKS_URL } }),
  log,
  offloadDownload: a.offloadDownload,
  console: {
    // Shared by every instance (a data key under the platform key, stored wrapped in the table), fetched on the
    // console's first request: the rest of the API neither waits for it nor depends on it.
    loadSessionKey: () =>
      consoleSessionKey({
        dynamodb: a.clients.dynamodb,
        kms: a.clients.kms,
        tableName: config.SPE_TABLE_NAME,
        keyArn: web.SPE_PLATFORM_KEY_ARN,
      }),
    // On AWS people sign in through the hosted UI (with MFA); a pasted token would skip it.
    pasteToken: false,
    secureCookies: true,
    oidc: {
      issuer: config.SPE_JWT_ISSUER,
      authorizeUrl: `${web.SPE_AUTH_DOMAIN_URL}/oauth2/authorize`,
      tokenUrl: `${web.SPE_AUTH_DOMAIN_URL}/oauth2/token`,
      jwksUrl: config.SPE_JWT_JWKS_URL,
      clientId: web.SPE_CONSOLE_CLIENT_ID,
      redirectUri: web.SPE_CONSOLE_REDIRECT_URI,
      scopes: ["openid", "email", "profile"],
      logoutUrl: `${web.SPE_AUTH_DOMAIN_URL}/logout?client_id=${encodeURIComponent(web.SPE_CONSOLE_CLIENT_ID)}&logout_uri=${encodeURIComponent(web.SPE_CONSOLE_REDIRECT_URI.replace(/\/oidc\/callback$/, ""))}`,
    },
  },
});
const serve = handle(app);

export const handler: typeof serve = async (event, context) => {
  try {
    return await serve(event, context);
  } finally {
    await a.dispatcher.idle();
  }
};

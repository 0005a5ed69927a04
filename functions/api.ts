/**
 * Lambda entrypoint of the HTTP API (API Gateway HTTP API, payload v2): the same hono app as `npm start`,
 * over the AWS adapters. Provisioning is dispatched as an asynchronous invoke of the provision function;
 * the handler awaits those invokes before returning (a frozen Lambda would otherwise drop them).
 */
import { createApp, jwtVerifier } from "@spe/api";
import { readAwsConfig } from "@spe/aws";
import { handle } from "hono/aws-lambda";
import { aws, log } from "./lib/aws";

const config = readAwsConfig();
const a = aws();
const app = createApp({
  ...a.deps,
  signer: a.signer,
  // API Gateway has checked the token already (issuer, expiry, client id); the app checks signature and
  // issuer again and reads the roles. No audience: Cognito access tokens carry `client_id`, not `aud`.
  verifyToken: jwtVerifier({ external: { issuer: config.SPE_JWT_ISSUER, jwksUrl: config.SPE_JWT_JWKS_URL } }),
  log,
  offloadDownload: a.offloadDownload,
});
const serve = handle(app);

export const handler: typeof serve = async (event, context) => {
  try {
    return await serve(event, context);
  } finally {
    await a.dispatcher.idle();
  }
};

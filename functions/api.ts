/**
 * Lambda entrypoint of the HTTP API (API Gateway HTTP API, payload v2): the same hono app as `npm start`,
 * composed from placeholder ports until the AWS adapters land. The composition root of the Lambda: the only
 * place that reads the environment, which the Api stack (stacks/api.ts) sets.
 */
import { createApp, jwtVerifier } from "@spe/api";
import { handle } from "hono/aws-lambda";
import { unavailableDeps } from "./lib/unavailable";

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: the Api stack (stacks/api.ts) sets it`);
  return value;
}

const issuer = required("SPE_JWT_ISSUER");

const app = createApp(
  unavailableDeps({
    // API Gateway has checked the token already (issuer, expiry, client id); the app checks signature and
    // issuer again and reads the roles. No audience: Cognito access tokens carry `client_id`, not `aud`.
    verifyToken: jwtVerifier({ external: { issuer, jwksUrl: required("SPE_JWT_JWKS_URL") } }),
    clock: { now: () => new Date() },
    log: (line) => console.log(JSON.stringify(line)),
  }),
);

export const handler = handle(app);

/**
 * Bearer token verification with jose: the node's local ES256 issuer and, optionally, an external OIDC
 * issuer (Keycloak, Cognito ...) by its JWKS URL. Roles come from `groups` (or `cognito:groups`).
 */
import { type Actor, ROLES, type Role } from "@spe/core";
import { createRemoteJWKSet, type JWTPayload, jwtVerify, type KeyObject } from "jose";
import type { TokenVerifier } from "./middleware/auth";

export interface JwtVerifierOptions {
  local?: { issuer: string; audience: string; publicKey: KeyObject };
  external?: { issuer: string; jwksUrl: string; audience?: string };
}

function actorOf(payload: JWTPayload): Actor {
  if (!payload.sub) throw new Error("token has no sub");
  const raw = payload.groups ?? payload["cognito:groups"] ?? [];
  const groups = Array.isArray(raw) ? raw : [];
  const roles = groups.filter((g): g is Role => typeof g === "string" && (ROLES as readonly string[]).includes(g));
  return { sub: payload.sub, roles };
}

export function jwtVerifier(opts: JwtVerifierOptions): TokenVerifier {
  const jwks = opts.external ? createRemoteJWKSet(new URL(opts.external.jwksUrl)) : null;
  return async (token) => {
    const [, payloadPart] = token.split(".");
    const iss = payloadPart
      ? (JSON.parse(Buffer.from(payloadPart, "base64url").toString("utf8")) as JWTPayload).iss
      : undefined;
    if (opts.local && iss === opts.local.issuer) {
      const { payload } = await jwtVerify(token, opts.local.publicKey, {
        issuer: opts.local.issuer,
        audience: opts.local.audience,
        algorithms: ["ES256"],
        requiredClaims: ["sub", "exp"],
      });
      return actorOf(payload);
    }
    if (opts.external && jwks && iss === opts.external.issuer) {
      const { payload } = await jwtVerify(token, jwks, {
        issuer: opts.external.issuer,
        ...(opts.external.audience ? { audience: opts.external.audience } : {}),
        algorithms: ["RS256", "ES256"],
        requiredClaims: ["sub", "exp"],
      });
      return actorOf(payload);
    }
    throw new Error("unknown issuer");
  };
}

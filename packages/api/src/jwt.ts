/**
 * Bearer token verification with jose: the node's local ES256 issuer and, optionally, an external OIDC
 * issuer (Keycloak, Cognito ...) by its JWKS URL. Roles come from `groups` (or `cognito:groups`).
 */
import { createHash } from "node:crypto";
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

/**
 * Verified tokens are remembered (by their SHA-256) until they expire, for at most a minute, so a client
 * making many calls pays for one signature check; the cache is bounded and checked against `exp` on use.
 */
class VerifiedTokens {
  private readonly entries = new Map<string, { actor: Actor; until: number }>();
  constructor(private readonly max = 10_000) {}

  get(key: string): Actor | null {
    const e = this.entries.get(key);
    if (!e) return null;
    if (e.until <= Date.now()) {
      this.entries.delete(key);
      return null;
    }
    return e.actor;
  }

  set(key: string, actor: Actor, exp: number | undefined): void {
    if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(key, { actor, until: Math.min((exp ?? 0) * 1000, Date.now() + 60_000) });
  }
}

export function jwtVerifier(opts: JwtVerifierOptions): TokenVerifier {
  const jwks = opts.external ? createRemoteJWKSet(new URL(opts.external.jwksUrl)) : null;
  const cache = new VerifiedTokens();
  return async (token) => {
    const key = createHash("sha256").update(token).digest("base64url");
    const known = cache.get(key);
    if (known) return known;
    const { actor, exp } = await verify(token);
    cache.set(key, actor, exp);
    return actor;
  };

  async function verify(token: string): Promise<{ actor: Actor; exp: number | undefined }> {
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
      return { actor: actorOf(payload), exp: payload.exp };
    }
    if (opts.external && jwks && iss === opts.external.issuer) {
      const { payload } = await jwtVerify(token, jwks, {
        issuer: opts.external.issuer,
        ...(opts.external.audience ? { audience: opts.external.audience } : {}),
        algorithms: ["RS256", "ES256"],
        requiredClaims: ["sub", "exp"],
      });
      return { actor: actorOf(payload), exp: payload.exp };
    }
    throw new Error("unknown issuer");
  }
}

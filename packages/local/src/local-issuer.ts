/** The node's local JWT issuer (ES256, key in the data dir): `spe token` and the demo print its tokens. */
import type { Role } from "@spe/core";
import { SignJWT } from "jose";
import type { NodeKey } from "./local-keys";

export const LOCAL_ISSUER = "spe-local";
export const LOCAL_AUDIENCE = "spe";

/** Parses `1h`, `30m`, `45s`, `2d` into seconds. @throws Error on anything else. */
export function parseTtl(ttl: string): number {
  const m = /^(\d+)([smhd])$/.exec(ttl.trim());
  if (!m) throw new Error(`invalid ttl ${JSON.stringify(ttl)}: use a number and s, m, h or d, e.g. 1h`);
  const seconds = Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[m[2] as "s" | "m" | "h" | "d"];
  if (seconds <= 0 || seconds > 30 * 86400) throw new Error("ttl must be between 1s and 30d");
  return seconds;
}

export async function issueToken(key: NodeKey, sub: string, roles: Role[], ttlSeconds: number): Promise<string> {
  if (!key.privateKey) throw new Error("the issuer key was opened read-only");
  return new SignJWT({ groups: roles })
    .setProtectedHeader({ alg: "ES256", kid: key.keyId, typ: "JWT" })
    .setSubject(sub)
    .setIssuer(LOCAL_ISSUER)
    .setAudience(LOCAL_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
    .sign(key.privateKey);
}

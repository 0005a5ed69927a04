/**
 * Console sessions: after a sign-in (a pasted token, a one-time link from `spe console`, or OIDC), the
 * verified actor and an expiry are kept in a cookie signed with the console's key (HMAC-SHA-256, hono's
 * signed cookies): HttpOnly (no script reads it), SameSite=Strict (no other site's page sends it), Secure
 * when the request came over TLS, path /console, expiring no later than the token it came from. The
 * cookie holds no token: stealing it gives the console, not the API. Signing out records the session as
 * revoked in the store, so a copy of the cookie stops working at once, on every instance.
 */
import { randomBytes } from "node:crypto";
import { type Actor, ConcurrentUpdateError, ROLES, type Role, type Store } from "@spe/core";
import type { Context, MiddlewareHandler } from "hono";
import { deleteCookie, getSignedCookie, setSignedCookie } from "hono/cookie";
import { z } from "zod";
import type { ResolvedConsoleOptions } from "./options";

export const SESSION_COOKIE = "spe_console";

export interface Session {
  sub: string;
  roles: Role[];
  /** Unix seconds. */
  exp: number;
  /** Random per session: CSRF tokens are derived from it. */
  sid: string;
}

const SessionShape = z.strictObject({
  sub: z.string().min(1).max(256),
  roles: z.array(z.enum(ROLES)).max(ROLES.length),
  exp: z.number().int().positive(),
  sid: z.string().regex(/^[A-Za-z0-9_-]{22,64}$/),
});

export type ConsoleEnv = { Variables: { actor: Actor; session: Session } };

/** Whether cookies must be Secure: the request came over TLS (or the deployment says it always does). */
export const overTls = (c: Context, o: Pick<ResolvedConsoleOptions, "secureCookies">): boolean =>
  o.secureCookies || new URL(c.req.url).protocol === "https:";

/**
 * Starts a session for a verified actor whose token expires at `tokenExp` (unix seconds).
 * @throws Error when the token has already expired.
 */
export async function startSession(
  c: Context,
  o: ResolvedConsoleOptions,
  actor: Actor,
  tokenExp: number,
): Promise<Session> {
  const nowS = Math.floor(o.now() / 1000);
  const exp = Math.min(tokenExp, nowS + o.maxSessionSeconds);
  if (exp <= nowS) throw new Error("the token has expired");
  const session: Session = { sub: actor.sub, roles: [...actor.roles], exp, sid: randomBytes(24).toString("base64url") };
  const value = Buffer.from(JSON.stringify(session)).toString("base64url");
  await setSignedCookie(c, SESSION_COOKIE, value, o.sessionKey, {
    path: "/console",
    httpOnly: true,
    sameSite: "Strict",
    secure: overTls(c, o),
    expires: new Date(exp * 1000),
    // Whole seconds that end at or before the token's expiry.
    maxAge: Math.floor((exp * 1000 - o.now()) / 1000),
  });
  return session;
}

/** The session of the request: null when there is none, it was tampered with, or it has expired. */
export async function readSession(c: Context, o: ResolvedConsoleOptions): Promise<Session | null> {
  const raw = await getSignedCookie(c, o.sessionKey, SESSION_COOKIE);
  if (!raw) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(raw, "base64url").toString("utf8"));
  } catch {
    return null;
  }
  const s = SessionShape.safeParse(parsed);
  if (!s.success || s.data.exp * 1000 <= o.now()) return null;
  return s.data;
}

/** Revokes the session (every copy of its cookie is refused from now on) and clears this browser's cookie. */
export async function endSession(
  c: Context,
  o: ResolvedConsoleOptions,
  store: Pick<Store, "commit">,
  s: Session,
): Promise<void> {
  const item = {
    id: s.sid,
    sub: s.sub,
    revokedAt: new Date(o.now()).toISOString(),
    expiresAt: new Date(s.exp * 1000).toISOString(),
  };
  try {
    await store.commit({ writes: [{ kind: "console_revoked", item, expectedVersion: null }], audit: [] });
  } catch (err) {
    if (!(err instanceof ConcurrentUpdateError)) throw err; // revoked already: signing out twice is fine
  }
  deleteCookie(c, SESSION_COOKIE, { path: "/console", secure: overTls(c, o), httpOnly: true, sameSite: "Strict" });
}

/**
 * Requires a session: sets `actor` and `session`, or sends a page to sign in (a GET is redirected to the
 * sign-in page; anything else gets 401, since its form would be lost by a redirect anyway).
 */
export const requireSession = (
  o: ResolvedConsoleOptions,
  store: Pick<Store, "get">,
  onMissing: (c: Context) => Response | Promise<Response>,
) =>
  async function requireSession(c, next) {
    const read = await readSession(c, o);
    // A signed-out session's cookie (a copy, say) is refused like a missing one.
    const s = read && !(await store.get("console_revoked", read.sid)) ? read : null;
    if (!s) {
      if (c.req.method === "GET" || c.req.method === "HEAD") return c.redirect("/console/sign-in", 303);
      return onMissing(c);
    }
    c.set("session", s);
    c.set("actor", { sub: s.sub, roles: s.roles });
    await next();
  } satisfies MiddlewareHandler<ConsoleEnv>;

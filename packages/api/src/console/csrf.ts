/**
 * CSRF defence for the console's forms, in two layers: hono's `csrf()` refuses a form posted from another
 * origin (Origin / Sec-Fetch-Site), and every form carries a token that only this console could have put
 * there. Signed in, the token is an HMAC of the session id under the session key (a synchronizer token
 * that needs no storage); on the sign-in form, before any session, it must equal a random HttpOnly
 * cookie set with the form (double submit), so that nobody can sign a victim in as someone else.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { Context, MiddlewareHandler } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import type { ResolvedConsoleOptions } from "./options";
import { type ConsoleEnv, overTls } from "./session";

export const CSRF_FIELD = "_csrf";
const PRE_COOKIE = "spe_console_pre";

/** The CSRF token of a session. */
export const csrfToken = (key: Uint8Array, sid: string): string =>
  createHmac("sha256", key).update(`csrf:${sid}`).digest("base64url");

export function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

/**
 * The body of a form post, or null when it is not one or cannot be parsed (multipart without a boundary, a
 * truncated body): a malformed form is the sender's mistake, never a server error.
 */
export async function formBody(c: Context): Promise<Record<string, string | File> | null> {
  const type = c.req.header("content-type") ?? "";
  if (!/^(application\/x-www-form-urlencoded|multipart\/form-data)/i.test(type)) return null;
  try {
    return await c.req.parseBody();
  } catch {
    return null;
  }
}

/** The submitted token: the form field (urlencoded or multipart bodies), or the `x-csrf-token` header. */
async function submitted(c: Context): Promise<string> {
  const header = c.req.header("x-csrf-token");
  if (header) return header;
  const v = (await formBody(c))?.[CSRF_FIELD];
  return typeof v === "string" ? v : "";
}

/** Refuses (with `onRefused`, a 403 page) a state-changing request whose token does not match the session's. */
export const requireCsrf = (
  o: ResolvedConsoleOptions,
  onRefused: (c: Context) => Response | Promise<Response>,
): MiddlewareHandler<ConsoleEnv> =>
  async function requireCsrf(c, next) {
    if (c.req.method === "GET" || c.req.method === "HEAD") return next();
    const expected = csrfToken(o.sessionKey, c.get("session").sid);
    if (!sameToken(await submitted(c), expected)) return onRefused(c);
    await next();
  };

/** Sets a fresh pre-session token cookie for the sign-in form and returns the token to put in it. */
export function issuePreSessionToken(c: Context, o: ResolvedConsoleOptions): string {
  const token = randomBytes(24).toString("base64url");
  setCookie(c, PRE_COOKIE, token, {
    path: "/console/sign-in",
    httpOnly: true,
    sameSite: "Strict",
    secure: overTls(c, o),
    maxAge: 3600,
  });
  return token;
}

/** Whether the sign-in form's token matches its cookie. */
export async function preSessionTokenOk(c: Context): Promise<boolean> {
  return sameToken(await submitted(c), getCookie(c, PRE_COOKIE) ?? "");
}

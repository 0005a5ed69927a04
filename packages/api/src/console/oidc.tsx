/** @jsxImportSource hono/jsx */
/**
 * Sign-in through an OIDC provider's hosted UI (Cognito on AWS): the authorization-code flow with PKCE
 * (RFC 7636, S256), written by hand because no OIDC client library is a dependency here; jose verifies
 * the ID token (signature by the provider's JWKS, issuer, audience, nonce). The access token is then
 * verified by the API's own verifier, which gives the actor and roles exactly as the API would.
 * The state, verifier and nonce wait in a signed, HttpOnly cookie scoped to /console/oidc for 10
 * minutes; it is SameSite=Lax because the provider's redirect back is a cross-site navigation.
 */
import { createHash, randomBytes } from "node:crypto";
import type { Context, Hono } from "hono";
import { deleteCookie, getSignedCookie, setSignedCookie } from "hono/cookie";
import { createRemoteJWKSet, jwtVerify } from "jose";
import type { ApiDeps } from "../env";
import { sameToken } from "./csrf";
import { Layout } from "./layout";
import type { OidcOptions, ResolvedConsoleOptions } from "./options";
import { send } from "./render";
import { type ConsoleEnv, overTls, startSession } from "./session";
import { auditSignIn, Landing, verifyBearer } from "./sign-in";

const FLOW_COOKIE = "spe_console_oidc";
const FLOW_PATH = "/console/oidc";

const b64url = (b: Buffer) => b.toString("base64url");
/** The S256 code challenge of a verifier. */
export const codeChallenge = (verifier: string) => b64url(createHash("sha256").update(verifier).digest());

interface Flow {
  state: string;
  verifier: string;
  nonce: string;
}

function Refused({ why }: { why: string }) {
  return (
    <Layout title="Sign-in failed">
      <h1>Sign-in failed</h1>
      <p class="reason">{why}</p>
      <p>
        <a href="/console/sign-in">Try again</a>
      </p>
    </Layout>
  );
}

/** Exchanges the code at the token endpoint. @throws Error with a reason fit to show. */
async function exchange(oidc: OidcOptions, code: string, verifier: string) {
  const res = await fetch(oidc.tokenUrl, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code,
      redirect_uri: oidc.redirectUri,
      client_id: oidc.clientId,
      code_verifier: verifier,
    }),
    signal: AbortSignal.timeout(oidc.timeoutMs ?? 10_000),
  }).catch(() => {
    throw new Error("the sign-in provider could not be reached");
  });
  const body = (await res.json().catch(() => null)) as Record<string, unknown> | null;
  if (!res.ok || !body) throw new Error(`the sign-in provider refused the code (HTTP ${res.status})`);
  const { id_token: idToken, access_token: accessToken } = body;
  if (typeof idToken !== "string" || typeof accessToken !== "string") {
    throw new Error("the sign-in provider sent no ID token or access token");
  }
  return { idToken, accessToken };
}

export function oidcRoutes(app: Hono<ConsoleEnv>, deps: ApiDeps, o: ResolvedConsoleOptions): void {
  const oidc = o.oidc;
  if (!oidc) return;
  const jwks = createRemoteJWKSet(new URL(oidc.jwksUrl));
  const flowCookie = (c: Context) => ({
    path: FLOW_PATH,
    httpOnly: true,
    sameSite: "Lax" as const,
    secure: overTls(c, o),
  });

  app.get("/oidc/start", async (c) => {
    const flow: Flow = {
      state: b64url(randomBytes(24)),
      verifier: b64url(randomBytes(32)),
      nonce: b64url(randomBytes(24)),
    };
    await setSignedCookie(c, FLOW_COOKIE, b64url(Buffer.from(JSON.stringify(flow))), o.sessionKey, {
      ...flowCookie(c),
      maxAge: 600,
    });
    const url = new URL(oidc.authorizeUrl);
    url.search = new URLSearchParams({
      response_type: "code",
      client_id: oidc.clientId,
      redirect_uri: oidc.redirectUri,
      scope: (oidc.scopes ?? ["openid"]).join(" "),
      state: flow.state,
      nonce: flow.nonce,
      code_challenge: codeChallenge(flow.verifier),
      code_challenge_method: "S256",
    }).toString();
    return c.redirect(url.toString(), 302);
  });

  app.get("/oidc/callback", async (c) => {
    const refuse = async (why: string, status: 400 | 401 = 400) => {
      await auditSignIn(deps, c, "anonymous", "console.signed_in", "denied", { method: "oidc", reason: why });
      return send(c, <Refused why={why} />, status);
    };
    const raw = await getSignedCookie(c, o.sessionKey, FLOW_COOKIE);
    deleteCookie(c, FLOW_COOKIE, flowCookie(c));
    let flow: Flow | null = null;
    try {
      flow = raw ? (JSON.parse(Buffer.from(raw, "base64url").toString("utf8")) as Flow) : null;
    } catch {}
    if (!flow?.state) return refuse("no sign-in was started in this browser, or it took over 10 minutes");
    if (c.req.query("error")) return refuse("the sign-in provider did not sign you in");
    const code = c.req.query("code");
    if (!sameToken(c.req.query("state") ?? "", flow.state))
      return refuse("the sign-in answer does not match this browser's sign-in (state)");
    if (!code) return refuse("the sign-in provider sent no code");
    let tokens: { idToken: string; accessToken: string };
    try {
      tokens = await exchange(oidc, code, flow.verifier);
    } catch (err) {
      return refuse((err as Error).message, 401);
    }
    try {
      const { payload } = await jwtVerify(tokens.idToken, jwks, {
        issuer: oidc.issuer,
        audience: oidc.clientId,
        algorithms: ["RS256", "ES256"],
      });
      if (payload.nonce !== flow.nonce) return refuse("the ID token was not issued for this sign-in (nonce)", 401);
    } catch {
      return refuse("the ID token could not be verified", 401);
    }
    const verified = await verifyBearer(deps, tokens.accessToken);
    if (typeof verified === "string") return refuse(`the access token was refused: ${verified}`, 401);
    await startSession(c, o, verified.actor, verified.exp);
    await auditSignIn(deps, c, verified.actor.sub, "console.signed_in", "allowed", { method: "oidc" });
    return send(c, <Landing who={verified.actor.sub} />);
  });
}

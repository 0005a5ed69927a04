/**
 * An OIDC authorization server in-process, standing in for Cognito's hosted UI: /authorize (records the
 * request and redirects back with a code, or shows a page in "manual" mode), /token (redeems a code once,
 * only with the PKCE verifier whose S256 matches the challenge, and the same redirect URI), /jwks. It
 * signs ES256 ID tokens (audience: the client) and access tokens (audience: the API).
 */
import { createHash, randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { exportJWK, generateKeyPair, SignJWT } from "jose";

export type IdpMode = "auto" | "manual" | "bad-nonce" | "refuse";

export interface FakeIdp {
  issuer: string;
  authorizeUrl: string;
  tokenUrl: string;
  jwksUrl: string;
  clientId: string;
  audience: string;
  mode: IdpMode;
  /** Query strings of /authorize and bodies of /token, as received. */
  authorize: URLSearchParams[];
  token: URLSearchParams[];
  /** The last code issued (in manual mode the test redirects itself). */
  lastCode: string | null;
  close(): Promise<void>;
}

export async function startFakeIdp(user: { sub: string; groups: string[] }): Promise<FakeIdp> {
  const { privateKey, publicKey } = await generateKeyPair("ES256");
  const jwk = { ...(await exportJWK(publicKey)), kid: "idp-1", alg: "ES256", use: "sig" };
  const codes = new Map<string, { challenge: string; nonce: string; redirectUri: string }>();
  const app = new Hono();
  let idp: FakeIdp;

  const sign = (claims: Record<string, unknown>, aud: string) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: "ES256", kid: "idp-1" })
      .setIssuer(idp.issuer)
      .setSubject(user.sub)
      .setAudience(aud)
      .setIssuedAt()
      .setExpirationTime("10m")
      .sign(privateKey);

  app.get("/authorize", (c) => {
    const q = new URL(c.req.url).searchParams;
    idp.authorize.push(q);
    const ok =
      q.get("response_type") === "code" &&
      q.get("client_id") === idp.clientId &&
      q.get("code_challenge_method") === "S256" &&
      /^[A-Za-z0-9_-]{43}$/.test(q.get("code_challenge") ?? "");
    if (!ok) return c.text("bad authorization request", 400);
    const code = randomBytes(16).toString("hex");
    const redirectUri = q.get("redirect_uri") as string;
    codes.set(code, { challenge: q.get("code_challenge") as string, nonce: q.get("nonce") ?? "", redirectUri });
    idp.lastCode = code;
    if (idp.mode === "manual") return c.html("<h1>Hosted UI</h1><p>Sign in here.</p>");
    return c.redirect(`${redirectUri}?code=${code}&state=${encodeURIComponent(q.get("state") ?? "")}`, 302);
  });

  app.post("/token", async (c) => {
    const body = new URLSearchParams(await c.req.text());
    idp.token.push(body);
    const code = codes.get(body.get("code") ?? "");
    codes.delete(body.get("code") ?? "");
    const verifier = body.get("code_verifier") ?? "";
    const challenge = createHash("sha256").update(verifier).digest("base64url");
    if (
      idp.mode === "refuse" ||
      !code ||
      body.get("grant_type") !== "authorization_code" ||
      body.get("client_id") !== idp.clientId ||
      body.get("redirect_uri") !== code.redirectUri ||
      challenge !== code.challenge
    ) {
      return c.json({ error: "invalid_grant" }, 400);
    }
    const nonce = idp.mode === "bad-nonce" ? "someone-else" : code.nonce;
    return c.json({
      token_type: "Bearer",
      expires_in: 600,
      id_token: await sign({ nonce, "cognito:groups": user.groups }, idp.clientId),
      access_token: await sign({ groups: user.groups }, idp.audience),
    });
  });

  app.get("/jwks", (c) => c.json({ keys: [jwk] }));

  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(s));
  });
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  idp = {
    issuer: origin,
    // The browser meets the provider on another site (localhost vs 127.0.0.1), as with a real hosted UI:
    // the redirect back is a cross-site navigation, which SameSite=Strict cookies do not follow.
    authorizeUrl: `${origin.replace("127.0.0.1", "localhost")}/authorize`,
    tokenUrl: `${origin}/token`,
    jwksUrl: `${origin}/jwks`,
    clientId: "spe-console-client",
    audience: "spe-api",
    mode: "auto",
    authorize: [],
    token: [],
    lastCode: null,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
  return idp;
}

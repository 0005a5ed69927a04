/** @jsxImportSource hono/jsx */
/**
 * Signing in and out: a pasted token (verified by the API's own verifier), a one-time link made for
 * `spe console` (POST /console/links with the CLI's bearer token; only where pasted tokens are allowed,
 * as it turns any bearer token into a session), and signing out. Every sign-in and
 * every refused attempt is audited; tokens and link codes never are, nor logged (codes travel in the
 * query string, which the request log leaves out).
 */
import type { Actor } from "@spe/core";
import type { Context, Hono } from "hono";
import { decodeJwt } from "jose";
import type { ApiDeps } from "../env";
import { problem, problemResponse } from "../problem";
import { Notice } from "./components";
import { CSRF_FIELD, formBody, issuePreSessionToken, preSessionTokenOk } from "./csrf";
import { Layout } from "./layout";
import type { ResolvedConsoleOptions } from "./options";
import { send } from "./render";
import { type ConsoleEnv, endSession, readSession, startSession } from "./session";
import { LINK_TTL_MS, type SignInLinks } from "./sign-in-links";

type App = Hono<ConsoleEnv>;

const target = (c: Context) => `${c.req.method} ${c.req.path}`.replace(/[^\x21-\x7e ]/g, "?").slice(0, 200);

/** Records a sign-in event (allowed or denied); the reason is ours, never the token. */
export function auditSignIn(
  deps: ApiDeps,
  c: Context,
  actor: string,
  action: string,
  outcome: "allowed" | "denied",
  details: Record<string, string>,
) {
  return deps.store.commit({ writes: [], audit: [{ actor, action, target: target(c), outcome, details }] });
}

/** Verifies a bearer token as the API does. @returns the actor and the token's expiry, or the reason it is refused. */
export async function verifyBearer(deps: ApiDeps, token: string): Promise<{ actor: Actor; exp: number } | string> {
  if (!/^[A-Za-z0-9._~+/=-]{10,8192}$/.test(token)) return "invalid token";
  try {
    const actor = await deps.verifyToken(token);
    const exp = decodeJwt(token).exp;
    if (typeof exp !== "number") return "token without expiry";
    return { actor, exp };
  } catch (err) {
    return (err as { code?: string }).code === "ERR_JWT_EXPIRED" ? "token expired" : "invalid token";
  }
}

/** The page after a sign-in that came from elsewhere: a same-site step, so the SameSite=Strict cookie is sent. */
function Landing({ who }: { who: string }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta http-equiv="refresh" content="0;url=/console" />
        <title>Signed in · SPE console</title>
        <link rel="stylesheet" href="/console/static/console.css" />
      </head>
      <body>
        <main>
          <p>
            Signed in as {who}. <a href="/console">Open the console</a>
          </p>
        </main>
      </body>
    </html>
  );
}

function SignInPage(props: { o: ResolvedConsoleOptions; token: string; error?: string }) {
  return (
    <Layout title="Sign in">
      <h1>Sign in to the SPE console</h1>
      {props.error ? <Notice kind="error">{props.error}</Notice> : null}
      {props.o.oidc ? (
        <p>
          <a class="button primary" href="/console/oidc/start">
            Sign in with your HDAB account
          </a>
        </p>
      ) : null}
      {props.o.pasteToken ? (
        <form class="stack card" method="post" action="/console/sign-in">
          <input type="hidden" name={CSRF_FIELD} value={props.token} />
          <label>
            Bearer token
            <textarea name="token" required autocomplete="off" spellcheck={false} aria-describedby="token-help" />
          </label>
          <p id="token-help" class="help">
            On one node, <code>npx spe console --user rui --roles reviewer</code> opens this console signed in; or paste
            a token from <code>npx spe token</code>. The token is checked and then forgotten: the console keeps a
            session cookie that ends when the token does.
          </p>
          <div>
            <button class="primary" type="submit">
              Sign in
            </button>
          </div>
        </form>
      ) : null}
    </Layout>
  );
}

export function signInRoutes(app: App, deps: ApiDeps, o: ResolvedConsoleOptions, links: SignInLinks): void {
  app.get("/sign-in", async (c) => {
    if (await readSession(c, o)) return c.redirect("/console", 303);
    return send(c, <SignInPage o={o} token={issuePreSessionToken(c, o)} />);
  });

  app.post("/sign-in", async (c) => {
    if (!o.pasteToken) return c.redirect("/console/sign-in", 303);
    if (!(await preSessionTokenOk(c))) {
      await auditSignIn(deps, c, "anonymous", "console.signed_in", "denied", { reason: "csrf token mismatch" });
      return send(c, <SignInPage o={o} token={issuePreSessionToken(c, o)} error="The form expired: try again." />, 403);
    }
    const form = await formBody(c);
    const token = typeof form?.token === "string" ? form.token.trim() : "";
    const verified = await verifyBearer(deps, token);
    if (typeof verified === "string") {
      await auditSignIn(deps, c, "anonymous", "auth.denied", "denied", { reason: verified });
      const error = `Not signed in: ${verified}.`;
      return send(c, <SignInPage o={o} token={issuePreSessionToken(c, o)} error={error} />, 401);
    }
    await startSession(c, o, verified.actor, verified.exp);
    await auditSignIn(deps, c, verified.actor.sub, "console.signed_in", "allowed", { method: "token" });
    return c.redirect("/console", 303);
  });

  if (o.links) linkRoutes(app, deps, o, links);
  else {
    // Not served at all (404, before the session check would answer 401): nothing here turns a token into a session.
    app.post("/links", (c) =>
      problemResponse(c, problem(404, "route.not_found", "sign-in links are off here: sign in at /console/sign-in")),
    );
    app.on(["GET", "POST"], "/sign-in/link", (c) =>
      send(
        c,
        <Layout title="Not found">
          <h1>Sign-in links are off here</h1>
          <p class="reason">
            <a href="/console/sign-in">Sign in here</a>.
          </p>
        </Layout>,
        404,
      ),
    );
  }
}

/** The answer to a link that was used, or is older than a minute. */
async function linkGone(deps: ApiDeps, c: Context) {
  await auditSignIn(deps, c, "anonymous", "console.signed_in", "denied", { reason: "unknown or used sign-in link" });
  return send(
    c,
    <Layout title="Link used">
      <h1>This sign-in link cannot be used</h1>
      <p class="reason">
        It was already used, or it is older than a minute. Run <code>npx spe console</code> again, or{" "}
        <a href="/console/sign-in">sign in here</a>.
      </p>
    </Layout>,
    410,
  );
}

/**
 * For `spe console` (only where links are enabled): the CLI's bearer token buys a one-time link (no cookie
 * involved: no CSRF to fear). Opening the link only asks "continue as <user>?": the code is spent, and the
 * session started, by that page's own form (same origin, with the sign-in form's double-submit token), so
 * a link an attacker sends cannot sign a victim into the attacker's account by a mere navigation.
 */
function linkRoutes(app: App, deps: ApiDeps, o: ResolvedConsoleOptions, links: SignInLinks): void {
  app.post("/links", async (c) => {
    const m = /^Bearer (\S+)$/.exec(c.req.header("authorization") ?? "");
    const verified = m?.[1] ? await verifyBearer(deps, m[1]) : "missing bearer token";
    if (typeof verified === "string") {
      await auditSignIn(deps, c, "anonymous", "auth.denied", "denied", { reason: verified });
      return problemResponse(c, problem(401, "auth.unauthenticated", `${verified}: send Authorization: Bearer <JWT>`));
    }
    const now = o.now();
    const code = links.create(verified.actor, verified.exp, now);
    await auditSignIn(deps, c, verified.actor.sub, "console.link_created", "allowed", {});
    const url = `${new URL(c.req.url).origin}/console/sign-in/link?code=${code}`;
    return c.json({ url, expiresAt: new Date(now + LINK_TTL_MS).toISOString() }, 201);
  });

  app.get("/sign-in/link", async (c) => {
    const code = c.req.query("code") ?? "";
    const actor = links.peek(code, o.now());
    if (!actor) return linkGone(deps, c);
    return send(
      c,
      <Layout title="Continue">
        <h1>Continue to the SPE console</h1>
        <form class="stack card" method="post" action="/console/sign-in/link">
          <input type="hidden" name={CSRF_FIELD} value={issuePreSessionToken(c, o)} />
          <input type="hidden" name="code" value={code} />
          <p>
            This link signs you in as <strong>{actor.sub}</strong> ({actor.roles.join(", ") || "no roles"}). Continue
            only if you just ran <code>npx spe console</code> yourself.
          </p>
          <div>
            <button class="primary" type="submit" data-action="continue">
              Continue as {actor.sub}
            </button>
          </div>
        </form>
      </Layout>,
    );
  });

  app.post("/sign-in/link", async (c) => {
    if (!(await preSessionTokenOk(c))) {
      await auditSignIn(deps, c, "anonymous", "console.signed_in", "denied", { reason: "csrf token mismatch" });
      return send(
        c,
        <Layout title="Not allowed">
          <h1>This sign-in was not sent from the console</h1>
          <p class="reason">
            Open the link again (it works within a minute), or <a href="/console/sign-in">sign in here</a>.
          </p>
        </Layout>,
        403,
      );
    }
    const form = await formBody(c);
    const taken = links.take(typeof form?.code === "string" ? form.code : "", o.now());
    if (!taken) return linkGone(deps, c);
    await startSession(c, o, taken.actor, taken.tokenExp);
    await auditSignIn(deps, c, taken.actor.sub, "console.signed_in", "allowed", { method: "link" });
    return c.redirect("/console", 303);
  });
}

/** Sign-out (behind the session and CSRF checks). */
export function signOutRoute(app: App, deps: ApiDeps, o: ResolvedConsoleOptions): void {
  app.post("/sign-out", async (c) => {
    const sub = c.get("actor").sub;
    await endSession(c, o, deps.store, c.get("session"));
    await auditSignIn(deps, c, sub, "console.signed_out", "allowed", {});
    return send(
      c,
      <Layout title="Signed out">
        <h1>Signed out</h1>
        <p>
          <a href="/console/sign-in">Sign in again</a>
          {o.oidc?.logoutUrl ? (
            <>
              {" · "}
              <a href={o.oidc.logoutUrl}>Sign out of your HDAB account too</a>
            </>
          ) : null}
        </p>
      </Layout>,
    );
  });
}

export { Landing };

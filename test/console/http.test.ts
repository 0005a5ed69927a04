/**
 * The console's HTTP contract, in-process (no browser): session cookie attributes (Secure over TLS),
 * sign-in refusals, login CSRF, the CSRF token and Origin checks on every post, one-time sign-in links
 * (a Continue form, and none at all where pasted tokens are refused), malformed form bodies,
 * the headers on every response, sessions across instances sharing a key, and no token or link code in
 * the logs or the audit trail.
 */
import { randomBytes } from "node:crypto";
import { type App, createApp } from "@spe/api";
import { issueToken } from "@spe/local";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeNode, type TestNode } from "../helpers/node";

let n: TestNode;
const lines: string[] = [];
let rui: string;
const HTTPS = "https://spe.example";
const HTTP = "http://spe.example";

beforeAll(async () => {
  n = makeNode({ log: (l) => lines.push(JSON.stringify(l)) });
  rui = await issueToken(n.issuerKey, "rui", ["reviewer"], 120);
});
afterAll(() => n.dispose());

const cookieOf = (res: Response, name: string) =>
  res.headers.getSetCookie().find((c) => c.startsWith(`${name}=`)) ?? null;
const pair = (setCookie: string | null) => (setCookie ?? "").split(";")[0] as string;
const FORM = "application/x-www-form-urlencoded";

/** Signs in by pasting `token` on `origin`, as the browser would; returns the answer. */
async function pasteSignIn(app: App, origin: string, token: string): Promise<Response> {
  const form = await app.request(`${origin}/console/sign-in`);
  const html = await form.text();
  const csrf = /name="_csrf" value="([^"]+)"/.exec(html)?.[1] as string;
  return app.request(`${origin}/console/sign-in`, {
    method: "POST",
    headers: {
      origin,
      cookie: pair(cookieOf(form, "spe_console_pre")),
      "content-type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams({ _csrf: csrf, token }),
  });
}

async function session(app: App = n.app, origin = HTTP) {
  const res = await pasteSignIn(app, origin, rui);
  const cookie = pair(cookieOf(res, "spe_console"));
  const page = await (await app.request(`${origin}/console`, { headers: { cookie } })).text();
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page)?.[1] as string;
  return { cookie, csrf };
}

describe("signing in with a pasted token", () => {
  it("sets an HttpOnly, SameSite=Strict session cookie for /console, Secure over TLS, ending with the token", async () => {
    const tls = await pasteSignIn(n.app, HTTPS, rui);
    expect(tls.status).toBe(303);
    expect(tls.headers.get("location")).toBe("/console");
    const c = cookieOf(tls, "spe_console") as string;
    expect(c).toMatch(/; HttpOnly/);
    expect(c).toMatch(/; SameSite=Strict/);
    expect(c).toMatch(/; Secure/);
    expect(c).toMatch(/; Path=\/console/);
    expect(Number(/Max-Age=(\d+)/.exec(c)?.[1])).toBeLessThanOrEqual(120);
    expect(c).not.toContain(rui.split(".")[1]);
    const plain = cookieOf(await pasteSignIn(n.app, HTTP, rui), "spe_console") as string;
    expect(plain).toMatch(/; HttpOnly/);
    expect(plain).not.toMatch(/; Secure/);
  });

  it("refuses a wrong or expired token, audits the refusal, and sets no session", async () => {
    const expired = await new SignJWT({ groups: ["reviewer"] })
      .setProtectedHeader({ alg: "ES256", kid: n.issuerKey.keyId })
      .setSubject("rui")
      .setIssuer("spe-local")
      .setAudience("spe")
      .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
      .sign(n.issuerKey.privateKey as NonNullable<typeof n.issuerKey.privateKey>);
    for (const [token, why] of [
      [`${rui.slice(0, -4)}AAAA`, "invalid token"],
      [expired, "token expired"],
    ] as const) {
      const res = await pasteSignIn(n.app, HTTP, token);
      expect(res.status).toBe(401);
      expect(await res.text()).toContain(`Not signed in: ${why}.`);
      expect(cookieOf(res, "spe_console")).toBeNull();
    }
    const audit = await n.call("GET", "/v1/audit?action=auth.denied", { token: await n.token("otto", "auditor") });
    expect(
      audit.body.items
        .slice(-2)
        .map((r: { target: string; details: { reason: string } }) => [r.target, r.details.reason]),
    ).toEqual([
      ["POST /console/sign-in", "invalid token"],
      ["POST /console/sign-in", "token expired"],
    ]);
  });

  it("refuses the sign-in form without its own CSRF cookie, so nobody can sign a victim in as themselves", async () => {
    const res = await n.app.request(`${HTTP}/console/sign-in`, {
      method: "POST",
      headers: { origin: HTTP, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ _csrf: "made-up", token: rui }),
    });
    expect(res.status).toBe(403);
    expect(cookieOf(res, "spe_console")).toBeNull();
  });
});

describe("sessions and CSRF", () => {
  it("sends a visitor without a session to the sign-in page, and refuses their posts", async () => {
    const get = await n.app.request(`${HTTP}/console`);
    expect([get.status, get.headers.get("location")]).toEqual([303, "/console/sign-in"]);
    const post = await n.app.request(`${HTTP}/console/egress/eg-1/decision`, {
      method: "POST",
      headers: { origin: HTTP, "content-type": "application/x-www-form-urlencoded" },
      body: "decision=approve&confirm=1",
    });
    expect(post.status).toBe(401);
  });

  it("treats a tampered session cookie as no session", async () => {
    const { cookie } = await session();
    const [name, value] = cookie.split("=") as [string, string];
    const forged = Buffer.from(
      JSON.stringify({ sub: "ana", roles: ["admin"], exp: 4102444800, sid: "x".repeat(32) }),
    ).toString("base64url");
    const tampered = `${name}=${forged}.${decodeURIComponent(value).split(".").at(-1)}`;
    const res = await n.app.request(`${HTTP}/console`, { headers: { cookie: tampered } });
    expect(res.status).toBe(303);
  });

  it("refuses a post without the session's CSRF token, or from another origin, and accepts the genuine one", async () => {
    const { cookie, csrf } = await session();
    const post = (headers: Record<string, string>, body: Record<string, string>) =>
      n.app.request(`${HTTP}/console/sign-out`, {
        method: "POST",
        headers: { cookie, "content-type": "application/x-www-form-urlencoded", ...headers },
        body: new URLSearchParams(body),
      });
    expect((await post({ origin: HTTP }, {})).status).toBe(403);
    expect((await post({ origin: HTTP }, { _csrf: `${csrf.slice(0, -2)}xx` })).status).toBe(403);
    expect((await post({ origin: "https://evil.example" }, { _csrf: csrf })).status).toBe(403);
    const ok = await post({ origin: HTTP }, { _csrf: csrf });
    expect(ok.status).toBe(200);
    expect(cookieOf(ok, "spe_console")).toMatch(/^spe_console=;.*Max-Age=0/);
  });

  it("revokes the session at sign-out: a copy of the cookie is refused afterwards (the revocation is in the store)", async () => {
    const { cookie, csrf } = await session();
    expect((await n.app.request(`${HTTP}/console`, { headers: { cookie } })).status).toBe(200);
    const out = await n.app.request(`${HTTP}/console/sign-out`, {
      method: "POST",
      headers: { cookie, origin: HTTP, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ _csrf: csrf }),
    });
    expect(out.status).toBe(200);
    // The browser forgot the cookie; someone who copied it before gets nothing from it now.
    expect((await n.app.request(`${HTTP}/console`, { headers: { cookie } })).status).toBe(303);
    const post = await n.app.request(`${HTTP}/console/sign-out`, {
      method: "POST",
      headers: { cookie, origin: HTTP, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ _csrf: csrf }),
    });
    expect(post.status).toBe(401);
    const value = decodeURIComponent(cookie.split("=").slice(1).join("=")).split(".")[0] as string;
    const { sid } = JSON.parse(Buffer.from(value, "base64url").toString()) as { sid: string };
    expect((await n.deps.store.get("console_revoked", sid))?.item).toMatchObject({ id: sid, sub: "rui" });
  });

  it("accepts a session on another instance with the same key, and not with another key (several Lambdas)", async () => {
    const key = randomBytes(32);
    const one = createApp({ ...n.deps, console: { sessionKey: key } });
    const two = createApp({ ...n.deps, console: { sessionKey: key } });
    const other = createApp({ ...n.deps, console: { sessionKey: randomBytes(32) } });
    const { cookie } = await session(one);
    expect((await two.request(`${HTTP}/console`, { headers: { cookie } })).status).toBe(200);
    expect((await other.request(`${HTTP}/console`, { headers: { cookie } })).status).toBe(303);
    expect(() => createApp({ ...n.deps, console: { sessionKey: randomBytes(16) } })).toThrow(/at least 32/);
  });
});

describe("a session key loaded on first use (AWS: unwrapped by KMS)", () => {
  it("is fetched once by the console's first request, retried after a failure, and never holds up the API", async () => {
    const key = randomBytes(32);
    let calls = 0;
    let fail = true;
    const loadSessionKey = async () => {
      calls++;
      if (fail) throw new Error("KMS is unreachable");
      return key;
    };
    const app = createApp({ ...n.deps, console: { loadSessionKey } });
    expect((await app.request(`${HTTP}/health`)).status).toBe(200);
    expect(calls).toBe(0);
    expect((await app.request(`${HTTP}/console/sign-in`)).status).toBeGreaterThanOrEqual(500);
    fail = false;
    const { cookie } = await session(app);
    expect((await app.request(`${HTTP}/console`, { headers: { cookie } })).status).toBe(200);
    expect(calls).toBe(2);
    // The loaded key is the one sessions are signed with: another instance loading the same key accepts them.
    const twin = createApp({ ...n.deps, console: { sessionKey: key } });
    expect((await twin.request(`${HTTP}/console`, { headers: { cookie } })).status).toBe(200);
  });
});

/** Opens a sign-in link as a browser would, then follows its "Continue" form; returns both answers. */
async function followLink(app: App, url: string, origin = HTTP) {
  const page = await app.request(url);
  const html = await page.text();
  const csrf = /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? "";
  const code = /name="code" value="([^"]+)"/.exec(html)?.[1] ?? new URL(url).searchParams.get("code") ?? "";
  const post = await app.request(`${origin}/console/sign-in/link`, {
    method: "POST",
    headers: {
      origin,
      cookie: pair(cookieOf(page, "spe_console_pre")),
      "content-type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams({ _csrf: csrf, code }),
  });
  return { page, html, post, csrf, cookie: pair(cookieOf(page, "spe_console_pre")) };
}

describe("one-time sign-in links (spe console)", () => {
  it("are made only for a bearer token, sign in only through their own Continue form, once, within a minute", async () => {
    let now = Date.now();
    const app = createApp({ ...n.deps, console: { now: () => now } });
    const make = (auth?: string) =>
      app.request(`${HTTP}/console/links`, { method: "POST", headers: auth ? { authorization: auth } : {} });
    expect((await make()).status).toBe(401);
    expect((await make("Bearer not-a-token")).status).toBe(401);
    const made = await make(`Bearer ${rui}`);
    expect(made.status).toBe(201);
    const { url } = (await made.json()) as { url: string };
    const pre = await followLink(app, url);
    const { page, html, post } = pre;
    // Opening the link (a plain navigation, which another site can cause) signs nobody in...
    expect(page.status).toBe(200);
    expect(cookieOf(page, "spe_console")).toBeNull();
    expect(html).toContain("Continue as rui");
    // ... its same-origin form does.
    expect(post.status).toBe(303);
    expect(post.headers.get("location")).toBe("/console");
    expect(cookieOf(post, "spe_console")).toMatch(/HttpOnly; .*SameSite=Strict/);
    expect((await app.request(url)).status).toBe(410);
    // Posting the spent code again, even with a genuine form token, signs nobody in.
    const replay = await app.request(`${HTTP}/console/sign-in/link`, {
      method: "POST",
      headers: { origin: HTTP, cookie: (await followLink(app, url)).cookie || pre.cookie, "content-type": FORM },
      body: new URLSearchParams({ _csrf: pre.csrf, code: new URL(url).searchParams.get("code") as string }),
    });
    expect(replay.status).toBe(410);
    expect(cookieOf(replay, "spe_console")).toBeNull();
    const late = ((await (await make(`Bearer ${rui}`)).json()) as { url: string }).url;
    now += 61_000;
    expect((await app.request(late)).status).toBe(410);
  });

  it("spend the code only on a post with the form's own CSRF token, from this origin (no login CSRF)", async () => {
    const app = createApp({ ...n.deps, console: {} });
    const made = await app.request(`${HTTP}/console/links`, {
      method: "POST",
      headers: { authorization: `Bearer ${rui}` },
    });
    const { url } = (await made.json()) as { url: string };
    const code = new URL(url).searchParams.get("code") as string;
    // An attacker's page posting the attacker's code into the victim's browser: no pre-session cookie,
    // or a foreign Origin.
    const forged = (headers: Record<string, string>) =>
      app.request(`${HTTP}/console/sign-in/link`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
        body: new URLSearchParams({ _csrf: "made-up", code }),
      });
    for (const res of [await forged({ origin: HTTP }), await forged({ origin: "https://evil.example" })]) {
      expect(res.status).toBe(403);
      expect(cookieOf(res, "spe_console")).toBeNull();
    }
    // The refused posts did not spend the code: its rightful user can still continue.
    const { post } = await followLink(app, url);
    expect(post.status).toBe(303);
    expect(cookieOf(post, "spe_console")).not.toBeNull();
  });

  it("are not served where pasted tokens are refused (AWS: sign-in goes through the hosted UI with MFA)", async () => {
    const app = createApp({ ...n.deps, console: { pasteToken: false } });
    const made = await app.request(`${HTTP}/console/links`, {
      method: "POST",
      headers: { authorization: `Bearer ${rui}` },
    });
    expect(made.status).toBe(404);
    // A code made where links are enabled is worth nothing here.
    const elsewhere = await n.app.request(`${HTTP}/console/links`, {
      method: "POST",
      headers: { authorization: `Bearer ${rui}` },
    });
    const { url } = (await elsewhere.json()) as { url: string };
    const { page, post } = await followLink(app, url);
    expect(page.status).toBe(404);
    expect(post.status).toBe(404);
    expect(cookieOf(page, "spe_console")).toBeNull();
    expect(cookieOf(post, "spe_console")).toBeNull();
    expect((await followLink(n.app, url)).post.status).toBe(303); // the code itself was good
  });
});

describe("malformed form bodies", () => {
  it("answers 4xx, never a server error, to multipart without a boundary or with a truncated body", async () => {
    const { cookie } = await session();
    const before = lines.length;
    const bodies: [string, string][] = [
      ["multipart/form-data", "_csrf=x"],
      ["multipart/form-data; boundary=XyZ", '--XyZ\r\nContent-Disposition: form-data; name="_csrf"\r\n\r\nabc'],
    ];
    for (const [type, body] of bodies) {
      for (const path of ["/console/sign-in", "/console/sign-out", "/console/sign-in/link"]) {
        const res = await n.app.request(`${HTTP}${path}`, {
          method: "POST",
          headers: { origin: HTTP, cookie, "content-type": type },
          body,
        });
        expect(res.status, `${path} ${type}`).toBeGreaterThanOrEqual(400);
        expect(res.status, `${path} ${type}`).toBeLessThan(500);
      }
    }
    expect(lines.slice(before).join("\n")).not.toContain("unexpected");
  });
});

describe("headers and secrets", () => {
  it("sends the CSP and nosniff with every console response, and the script as JavaScript", async () => {
    for (const path of ["/console/sign-in", "/console/static/console.js", "/console/nope", "/console"]) {
      const res = await n.app.request(`${HTTP}${path}`);
      expect(res.headers.get("content-security-policy"), path).toContain("script-src 'self'");
      expect(res.headers.get("x-content-type-options"), path).toBe("nosniff");
      // The console's own headers win over the API's (which allow SAMEORIGIN framing).
      expect(res.headers.get("x-frame-options"), path).toBe("DENY");
    }
    expect((await n.app.request(`${HTTP}/health`)).headers.get("x-frame-options")).toBe("SAMEORIGIN");
    const js = await n.app.request(`${HTTP}/console/static/console.js`);
    expect(js.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    const page = await (await n.app.request(`${HTTP}/console/sign-in`)).text();
    expect(page).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline script
    expect(page).not.toMatch(/\sstyle=|\son[a-z]+=/); // no inline style or handler
  });

  it("never writes a token or a sign-in link's code to the log or the audit trail", async () => {
    const made = await n.app.request(`${HTTP}/console/links`, {
      method: "POST",
      headers: { authorization: `Bearer ${rui}` },
    });
    const { url } = (await made.json()) as { url: string };
    expect((await followLink(n.app, url)).post.status).toBe(303);
    const code = new URL(url).searchParams.get("code") as string;
    const audit = await n.call("GET", "/v1/audit?limit=500", { token: await n.token("otto", "auditor") });
    const everything = lines.join("\n") + JSON.stringify(audit.body);
    expect(lines.some((l) => l.includes("/console/sign-in/link"))).toBe(true);
    expect(everything).not.toContain(code);
    expect(everything).not.toContain(rui.split(".")[2] as string);
  });
});

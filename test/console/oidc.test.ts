/**
 * Sign-in through an OIDC provider (Cognito's hosted UI on AWS): the authorization-code flow with PKCE,
 * in headless Chromium, against a fake authorization server in-process. The session is the access
 * token's user and roles as the API's verifier reads them; every answer that does not belong to this
 * browser's sign-in (state, nonce), or that the provider refused, leaves no session.
 */
import { createApp } from "@spe/api";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { launch, openPage, shot } from "./helpers/browser";
import { type FakeIdp, startFakeIdp } from "./helpers/fake-idp";
import { startWorld, type World } from "./helpers/fixture";

let idp: FakeIdp;
let w: World;
let browser: Browser;

beforeAll(async () => {
  idp = await startFakeIdp({ sub: "olga", groups: ["reviewer"] });
  [w, browser] = await Promise.all([
    startWorld({
      bare: true,
      node: { externalIssuer: { issuer: idp.issuer, jwksUrl: idp.jwksUrl, audience: idp.audience } },
      app: (n, url) =>
        createApp({
          ...n.deps,
          console: {
            oidc: {
              issuer: idp.issuer,
              authorizeUrl: idp.authorizeUrl,
              tokenUrl: idp.tokenUrl,
              jwksUrl: idp.jwksUrl,
              clientId: idp.clientId,
              redirectUri: `${url}/console/oidc/callback`,
              logoutUrl: `${idp.issuer}/logout`,
            },
          },
        }),
    }),
    launch(),
  ]);
});
afterAll(async () => {
  await browser?.close();
  await w?.close();
  await idp?.close();
});
beforeEach(() => {
  idp.mode = "auto";
  idp.authorize.length = 0;
  idp.token.length = 0;
});

const at = (path: string) => `${w.url}/console${path}`;
const sessionCookie = async (ctx: Awaited<ReturnType<typeof openPage>>["context"]) =>
  (await ctx.cookies(at(""))).find((c) => c.name === "spe_console");
const signIns = async () =>
  (await w.n.call("GET", "/v1/audit?action=console.signed_in", { token: w.t.auditor })).body.items as {
    actor: string;
    outcome: string;
    details: Record<string, string>;
  }[];

describe("OIDC sign-in (authorization code + PKCE)", () => {
  it("signs in through the provider with PKCE, as the access token's user and roles", async () => {
    const { page, context, problems } = await openPage(browser);
    await page.goto(at("/sign-in"));
    await shot(page, "40-sign-in");
    await page.click("text=Sign in with your HDAB account");
    await page.waitForURL(at(""));
    expect(await page.textContent("header .who")).toContain("olga (reviewer)");
    await shot(page, "41-signed-in-with-oidc");

    const [authz] = idp.authorize;
    expect(authz?.get("code_challenge_method")).toBe("S256");
    expect(authz?.get("redirect_uri")).toBe(at("/oidc/callback"));
    expect(authz?.get("scope")).toBe("openid");
    expect(authz?.get("state")).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(authz?.get("nonce")).toMatch(/^[A-Za-z0-9_-]{32}$/);
    // The token request proved possession of the verifier (the fake server checks its S256).
    expect(idp.token).toHaveLength(1);
    expect(idp.token[0]?.get("code_verifier")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await sessionCookie(context)).toMatchObject({ httpOnly: true, sameSite: "Strict" });
    const all = await context.cookies(at("/oidc/callback"));
    expect(all.map((c) => c.name)).not.toContain("spe_console_oidc"); // the flow's secrets are gone
    expect((await signIns()).at(-1)).toMatchObject({ actor: "olga", outcome: "allowed", details: { method: "oidc" } });

    await page.click("button:has-text('Sign out')");
    expect(await page.getAttribute(`a[href="${idp.issuer}/logout"]`, "href")).toBe(`${idp.issuer}/logout`);
    expect(await sessionCookie(context)).toBeUndefined();
    expect(problems).toEqual([]);
    await context.close();
  });

  it("refuses an answer whose state is not this browser's sign-in, without redeeming its code", async () => {
    idp.mode = "manual";
    const { page, context } = await openPage(browser);
    await page.goto(at("/oidc/start"));
    expect(await page.textContent("h1")).toBe("Hosted UI");
    const res = await page.goto(at(`/oidc/callback?code=${idp.lastCode}&state=forged-by-an-attacker`));
    expect(res?.status()).toBe(400);
    expect(await page.textContent("main")).toContain("does not match this browser's sign-in (state)");
    expect(idp.token).toHaveLength(0);
    expect(await sessionCookie(context)).toBeUndefined();
    await context.close();
  });

  it("refuses a callback when no sign-in was started in this browser", async () => {
    const { page, context } = await openPage(browser);
    const res = await page.goto(at("/oidc/callback?code=abc&state=def"));
    expect(res?.status()).toBe(400);
    expect(await page.textContent("main")).toContain("no sign-in was started in this browser");
    expect(await sessionCookie(context)).toBeUndefined();
    await context.close();
  });

  it.each([
    ["bad-nonce" as const, "the ID token was not issued for this sign-in (nonce)"],
    ["refuse" as const, "the sign-in provider refused the code (HTTP 400)"],
  ])("refuses the sign-in when the provider answers %s", async (mode, why) => {
    idp.mode = mode;
    const { page, context } = await openPage(browser);
    await page.goto(at("/sign-in"));
    const [res] = await Promise.all([
      page.waitForResponse((r) => r.url().includes("/oidc/callback")),
      page.click("text=Sign in with your HDAB account"),
    ]);
    expect(res.status()).toBe(401);
    expect(await page.textContent("main")).toContain(why);
    expect(await sessionCookie(context)).toBeUndefined();
    expect((await signIns()).at(-1)).toMatchObject({
      actor: "anonymous",
      outcome: "denied",
      details: { method: "oidc" },
    });
    await context.close();
  });
});

/**
 * What the console must never allow, in headless Chromium against a real node: a requester deciding on
 * their own request (no controls, and a forged post refused with 403), a cross-site form riding a
 * reviewer's session (no cookie sent; and with the cookie, a foreign Origin or a missing token is 403), output content running as script or HTML, data values in URLs, a weak session
 * cookie; and `spe console` signing the browser in through a link that works once.
 */
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spe } from "../helpers/cli";
import { csrfOf, launch, openPage, postFrom, shot, signIn, type Watched } from "./helpers/browser";
import { getRequest, requestEgress, startWorld, type World, writeOutputs } from "./helpers/fixture";
import { barChartPng } from "./helpers/png";

let w: World;
let browser: Browser;
let plain: string;
let xss: string;
let rui: Watched;
const urls: string[] = [];

beforeAll(async () => {
  [w, browser] = await Promise.all([startWorld(), launch()]);
  await writeOutputs(w, w.ws, {
    "table.csv": "group,n\na,25\nb,40\n",
    "figure.png": barChartPng([0.5, 0.7]),
    "fake.png": "<html><script>alert('png')</script></html>",
    "xss.txt": "<script>alert('xss')</script>\n<img src=x onerror=alert(2)>\nhidden\u202eevil\n",
    "xss.csv": '<b>label</b>,n\n"<script>alert(3)</script>",25\n',
  });
  plain = await requestEgress(w, w.ws, ["table.csv", "figure.png", "fake.png"]);
  xss = await requestEgress(w, w.ws, ["xss.txt", "xss.csv"], "see <script>alert(5)</script>");
  rui = await openPage(browser);
  rui.page.on("request", (r) => urls.push(r.url()));
  await signIn(rui.page, w.url, w.t.rui);
});
afterAll(async () => {
  await browser?.close();
  await w?.close();
});

const at = (path: string) => `${w.url}/console${path}`;

describe("separation of duties in the console", () => {
  it("shows the requester no decision controls on their own request, and refuses a forged post with 403", async () => {
    // alice holds the reviewer role too: the server still refuses her own request, and says why.
    const alice = await openPage(browser);
    await signIn(alice.page, w.url, w.t.aliceReviewer);
    await alice.page.goto(at(`/egress/${plain}`));
    expect(await alice.page.locator("a[data-action=decide], form[action$='/decision']").count()).toBe(0);
    expect(await alice.page.textContent("[data-refused='egress.self_review']")).toBe(
      "you made this request: another reviewer must review it",
    );
    await shot(alice.page, "10-requester-own-request");
    await alice.page.goto(at(`/egress/${plain}/files/0`));
    expect(await alice.page.locator("form#marks, [data-key=a]").count()).toBe(0);
    expect((await alice.page.goto(at(`/egress/${plain}/decide`)))?.status()).toBe(403);

    const csrf = (await csrfOf(alice.page)) as string;
    const forged = { decision: "approve", comment: "looks fine", confirm: "1", _csrf: csrf };
    const decision = await postFrom(alice.page, `/console/egress/${plain}/decision`, forged);
    expect(decision.status).toBe(403);
    expect(decision.text).toContain("you made this request");
    const mark = await postFrom(alice.page, `/console/egress/${plain}/files/0/mark`, { mark: "approve", _csrf: csrf });
    expect(mark.status).toBe(403);
    const noToken = await postFrom(alice.page, `/console/egress/${plain}/decision`, { ...forged, _csrf: "" });
    expect(noToken.status).toBe(403);
    expect(noToken.text).toContain("CSRF");

    expect(await getRequest(w, plain)).toMatchObject({ status: "pending_review", reviews: [] });
    expect(await w.n.deps.store.get("review_draft", `${plain}:alice`)).toBeNull();
    const audit = await w.n.call("GET", "/v1/audit?action=egress.reviewed", { token: w.t.auditor });
    expect(
      audit.body.items.map((r: { outcome: string; details: { code?: string } }) => [r.outcome, r.details.code]),
    ).toEqual([["denied", "egress.self_review"]]);
    expect(alice.problems).toEqual([]);
    await alice.context.close();
  });

  it("refuses a form another site posts with a reviewer's session", async () => {
    const { page } = rui;
    await page.route("http://evil.example/**", (route) =>
      route.fulfill({
        contentType: "text/html",
        body: `<form method="post" action="${at(`/egress/${plain}/decision`)}">
          <input name="decision" value="approve"><input name="confirm" value="1"></form>
          <script>document.forms[0].submit()</script>`,
      }),
    );
    const [res] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith("/decision")),
      page.goto("http://evil.example/prize"),
    ]);
    // Refused by the Origin check, before the session is looked at (the browser does not send the
    // SameSite=Strict cookie on this cross-site post either).
    expect(res.status()).toBe(403);
    expect(await getRequest(w, plain)).toMatchObject({ status: "pending_review", reviews: [] });

    // Were the cookie sent (an older browser, a sibling subdomain), the Origin and CSRF token checks refuse it.
    const cookie = (await rui.context.cookies()).find((c) => c.name === "spe_console");
    expect(cookie).toBeDefined();
    await page.goto(at(""));
    const csrf = (await csrfOf(page)) ?? "";
    expect(csrf).not.toBe("");
    const forge = (origin: string, fields: Record<string, string>) =>
      fetch(at(`/egress/${plain}/decision`), {
        method: "POST",
        redirect: "manual",
        headers: {
          cookie: `spe_console=${cookie?.value}`,
          origin,
          "content-type": "application/x-www-form-urlencoded",
        },
        body: new URLSearchParams({ decision: "approve", comment: "forged", confirm: "1", ...fields }),
      });
    expect((await forge("http://evil.example", { _csrf: csrf })).status).toBe(403); // foreign Origin
    expect((await forge(w.url, {})).status).toBe(403); // no token
    expect((await forge(w.url, { _csrf: `${csrf.slice(0, -2)}xx` })).status).toBe(403); // wrong token
    expect(await getRequest(w, plain)).toMatchObject({ status: "pending_review", reviews: [] });
    // The cookie is a live session (so the 403s above come from the checks, not from a dead cookie).
    const check = await fetch(at(`/egress/${plain}`), { headers: { cookie: `spe_console=${cookie?.value}` } });
    expect(check.status).toBe(200);
  });
});

describe("output content is shown, never run", () => {
  it("renders <script> and HTML in outputs as text, under a strict CSP", async () => {
    const { page } = rui;
    const res = await page.goto(at(`/egress/${xss}/files/0`));
    const csp = res?.headers()["content-security-policy"] ?? "";
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain("unsafe-inline");
    expect(res?.headers()["x-content-type-options"]).toBe("nosniff");
    expect(res?.headers()["cache-control"]).toBe("no-store");
    expect(await page.textContent("#l-1")).toBe("<script>alert('xss')</script>");
    expect(await page.textContent("#l-2")).toBe("<img src=x onerror=alert(2)>");
    expect(await page.textContent("#l-3")).toBe("hidden⟨U+202E⟩evil"); // a bidi override cannot hide text
    const scripts = await page.$$eval("script", (s) => s.map((x) => x.getAttribute("src")));
    expect(scripts).toEqual(["/console/static/console.js"]);
    expect(await page.locator("main img").count()).toBe(0);
    await shot(page, "11-script-as-text");

    await page.goto(at(`/egress/${xss}/files/1`));
    expect(await page.textContent("#h-0")).toContain("<b>label</b>");
    expect(await page.textContent("#c-1-0")).toBe("<script>alert(3)</script>");
    expect(await page.locator(".sheet b, .sheet script").count()).toBe(0);
    await shot(page, "12-html-in-csv-as-text");

    await page.goto(at(`/egress/${xss}`));
    expect(await page.textContent(".justification")).toBe("see <script>alert(5)</script>");
    expect(rui.problems).toEqual([]); // no dialog, no script error, no CSP violation
  });

  it("serves images only as PNG or JPEG with nosniff, and never a file that only claims to be one", async () => {
    const { page } = rui;
    await page.goto(at(`/egress/${plain}/files/1`));
    expect(await page.$eval("figure img", (i) => (i as unknown as { naturalWidth: number }).naturalWidth)).toBe(240);
    const img = await page.evaluate(async (u) => {
      const r = await fetch(u);
      return {
        status: r.status,
        type: r.headers.get("content-type"),
        nosniff: r.headers.get("x-content-type-options"),
      };
    }, `/console/egress/${plain}/files/1/image`);
    expect(img).toEqual({ status: 200, type: "image/png", nosniff: "nosniff" });
    await page.goto(at(`/egress/${plain}/files/2`)); // fake.png: HTML named .png
    expect(await page.locator("figure img").count()).toBe(0);
    expect(await page.textContent("main")).toContain("cannot be shown");
    const fake = await page.evaluate(async (u) => (await fetch(u)).status, `/console/egress/${plain}/files/2/image`);
    expect(fake).toBe(404);
    expect(rui.problems).toEqual([]);
  });

  it("never puts a data value or a file name in a URL", () => {
    const ours = urls.filter((u) => u.startsWith(w.url));
    expect(ours.length).toBeGreaterThan(10);
    for (const u of ours) expect(u).not.toMatch(/outputs|\.csv|\.txt|\.png\b(?!.*favicon)|alert|label|table/);
  });
});

describe("sessions", () => {
  it("keeps the session in an HttpOnly, SameSite=Strict cookie for /console that ends with the token", async () => {
    const cookies = await rui.context.cookies(at(""));
    const session = cookies.find((c) => c.name === "spe_console");
    expect(session).toMatchObject({ httpOnly: true, sameSite: "Strict", path: "/console", secure: false });
    const tokenExp = JSON.parse(Buffer.from(w.t.rui.split(".")[1] as string, "base64url").toString()).exp;
    expect(session?.expires).toBeLessThanOrEqual(tokenExp);
    expect(session?.expires).toBeGreaterThan(Date.now() / 1000);
    expect(session?.value).not.toContain(w.t.rui.split(".")[1]); // the token itself is not in the cookie
  });

  it("`spe console` signs the browser in through a link that works once and holds no token", async () => {
    const run = await spe(["console", "--no-open"], { url: w.url, token: w.t.rui });
    expect(run.code).toBe(0);
    const link = run.stdout.trim();
    expect(link).toMatch(new RegExp(`^${w.url}/console/sign-in/link\\?code=[A-Za-z0-9_-]{43}$`));
    expect(link).not.toContain(w.t.rui.split(".")[1]);
    const first = await openPage(browser);
    await first.page.goto(link);
    // Opening the link signs nobody in: the page asks to continue, and only its own form does.
    expect(await first.page.textContent("main")).toContain("Continue as rui");
    expect((await first.context.cookies()).some((c) => c.name === "spe_console")).toBe(false);
    await Promise.all([first.page.waitForURL(at("")), first.page.click("button[data-action=continue]")]);
    expect(await first.page.textContent("header .who")).toContain("rui");
    const again = await openPage(browser);
    const replay = await again.page.goto(link);
    expect(replay?.status()).toBe(410);
    expect(await again.page.textContent("main")).toContain("cannot be used");
    await again.page.goto(at(""));
    expect(again.page.url()).toBe(at("/sign-in")); // no session came from the replay
    await Promise.all([first.context.close(), again.context.close()]);

    // On the node itself, `--user` mints the token with the node's issuer key.
    const minted = await spe(
      ["console", "--no-open", "--user", "vera", "--roles", "reviewer", "--data-dir", w.n.dataDir],
      {
        url: w.url,
      },
    );
    expect(minted.code).toBe(0);
    const vera = await openPage(browser);
    await vera.page.goto(minted.stdout.trim());
    await Promise.all([vera.page.waitForURL(at("")), vera.page.click("button[data-action=continue]")]);
    expect(await vera.page.textContent("header .who")).toContain("vera (reviewer)");
    await vera.context.close();
    expect((await spe(["console", "--no-open"], { url: w.url })).code).toBe(2); // no token at all
  });
});

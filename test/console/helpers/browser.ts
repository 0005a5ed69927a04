/**
 * Headless Chromium for the console tests (playwright-core, the system's /usr/bin/chromium): one browser
 * per test file, a fresh context (cookies) per user, sign-in by pasting a token as a person would,
 * screenshots into test/console/artifacts/ (git-ignored), and a guard that fails a test on any script
 * error, dialog or CSP violation in the page.
 */
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";

export const ARTIFACTS = join(dirname(fileURLToPath(import.meta.url)), "..", "artifacts");

export function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium", args: ["--no-sandbox"] });
}

export interface Watched {
  page: Page;
  context: BrowserContext;
  /** Script errors, dialogs (alert/confirm) and console errors (CSP violations are reported there). */
  problems: string[];
}

/** A new browser context and page whose problems are collected. */
export async function openPage(browser: Browser, opts: { javaScriptEnabled?: boolean } = {}): Promise<Watched> {
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1360, height: 900 }, ...opts });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  page.on("dialog", (d) => {
    problems.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
  page.on("console", (m) => {
    // A refused request (a 403 the test provokes) is logged as "Failed to load resource": not a page problem.
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) problems.push(`console: ${m.text()}`);
  });
  return { page, context, problems };
}

/** Signs in on the sign-in page by pasting `token`; lands on the queue. */
export async function signIn(page: Page, url: string, token: string): Promise<void> {
  await page.goto(`${url}/console/sign-in`);
  await page.fill("textarea[name=token]", token);
  await Promise.all([
    page.waitForURL(`${url}/console`),
    page.click("form[action='/console/sign-in'] button[type=submit]"),
  ]);
}

/** Saves a full-page screenshot as test/console/artifacts/<name>.png. */
export async function shot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** The CSRF token of the signed-in page (from its sign-out form), for forging posts in tests. */
export const csrfOf = (page: Page) => page.getAttribute("form[action='/console/sign-out'] input[name=_csrf]", "value");

/** POSTs a form from inside the page (same origin, with its cookies), as a script or a crafted form would. */
export function postFrom(page: Page, path: string, fields: Record<string, string>) {
  return page.evaluate(
    async ({ path, fields }) => {
      const res = await fetch(path, { method: "POST", body: new URLSearchParams(fields), redirect: "manual" });
      return { status: res.status, text: await res.text() };
    },
    { path, fields },
  );
}

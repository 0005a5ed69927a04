/**
 * The reviewer's console in headless Chromium, against a real node: the queue, a request with a failing
 * CSV (flagged cell highlighted, its rule on focus), keyboard review, a draft that survives a reload, the
 * comment rule in the form and on the server, confirmation, approval, and the researcher's download.
 * The tests run in order on one node and one browser: each continues the review of the one before.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Browser } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { runJob } from "../helpers/jobs";
import { launch, openPage, shot, signIn, type Watched } from "./helpers/browser";
import { getRequest, requestEgress, startWorld, type World, writeOutputs } from "./helpers/fixture";
import { barChartPng } from "./helpers/png";

let w: World;
let browser: Browser;
let rui: Watched;
let id: string;
let long: string;
const FILES = ["small.csv", "ok.csv", "figure.png", "notes.txt"];
const SMALL = "group,n\na,25\nb,4\nc,31\n";

beforeAll(async () => {
  [w, browser] = await Promise.all([startWorld(), launch()]);
  await writeOutputs(w, w.ws, {
    "small.csv": SMALL,
    "ok.csv": "group,n\na,25\nb,40\n",
    "figure.png": barChartPng([0.3, 0.8, 0.5, 0.9]),
    "notes.txt": "Model fitted on the whole cohort.\n",
  });
  id = await requestEgress(w, w.ws, FILES);
  // 1,200 rows; two small counts, at rows 180 (on page 2) and 1,100 (past the 1,000 rows shown).
  const job = await runJob(w.n, w.t.alice, w.ws, [
    "python3",
    "-c",
    "rows = ['g%d,%d' % (i, 3 if i == 180 else 2 if i == 1100 else 20 + i % 50) for i in range(1, 1201)]\n" +
      "open('outputs/long.csv', 'w').write('group,n\\n' + '\\n'.join(rows) + '\\n')",
  ]);
  expect(job.status).toBe("succeeded");
  long = await requestEgress(w, w.ws, ["long.csv"]);
  rui = await openPage(browser);
});
afterAll(async () => {
  await browser?.close();
  await w?.close();
});
afterEach(() => {
  expect(rui.problems).toEqual([]);
});

const at = (path: string) => `${w.url}/console${path}`;

describe("a reviewer reviews a request with a failing CSV", () => {
  it("signs in and finds the request in the queue, with its verdict mix, progress, age and permit", async () => {
    const { page } = rui;
    await signIn(page, w.url, w.t.rui);
    const row = page.locator(`tr[data-request="${id}"]`);
    await expect(row.locator(".progress").textContent()).resolves.toBe("0 of 4 files");
    expect(await row.locator(".mix").textContent()).toBe("2 1 1"); // pass, review, fail
    expect(await row.textContent()).toContain("PT-CON-1");
    expect(await row.textContent()).toMatch(/\d+ min/);
    await shot(page, "01-queue");
    // Filters: this request's verdict is fail, so it is not among the passing ones.
    await page.selectOption("select[name=verdict]", "pass");
    await page.click("form.filters button");
    expect(await page.locator(`tr[data-request="${id}"]`).count()).toBe(0);
    expect(new URL(page.url()).search).toBe("?status=pending_review&permit=&verdict=pass");
  });

  it("shows the request: permit, justification, files with verdicts, activity and the actions", async () => {
    const { page } = rui;
    await page.goto(at(`/egress/${id}`));
    const text = await page.textContent("main");
    expect(text).toContain("Universidade do Porto"); // the data user
    expect(text).toContain("scientific research"); // the purpose
    expect(text).toContain("Table 2 of the paper");
    expect(await page.locator("table.files tbody tr").count()).toBe(4);
    expect(await page.locator("table.activity").textContent()).toContain("requested");
    await shot(page, "02-request");
  });

  it("highlights the flagged cell, shows its rule on hover and focus, and focuses it from the findings", async () => {
    const { page } = rui;
    await page.click("text=Review files");
    await page.waitForURL(at(`/egress/${id}/files/0`));
    const cell = page.locator("#c-2-1"); // data row 2 (b), column n: the 4
    expect(await cell.getAttribute("class")).toContain("flag-fail");
    expect(await cell.getAttribute("data-rules")).toBe("min_cell_count");
    expect(await page.locator("td.flag").count()).toBe(1); // 25 and 31 are not flagged
    const tip = page.locator("#tip-c-2-1");
    expect(await tip.isVisible()).toBe(false);
    await cell.hover();
    expect(await tip.isVisible()).toBe(true);
    await page.mouse.move(0, 0);
    await page.click("a.finding");
    expect(await page.evaluate("document.activeElement && document.activeElement.id")).toBe("c-2-1");
    expect(await tip.textContent()).toContain("min_cell_count (fail)");
    await shot(page, "03-file-review-csv");
  });

  it("pages a long table 100 rows at a time, up to 1,000 rows, and a finding leads to its page and cell", async () => {
    const { page } = rui;
    await page.goto(at(`/egress/${long}/files/0`));
    expect(await page.textContent(".pager")).toContain("Rows 1–100 of 1000");
    expect(await page.locator(".pager a").count()).toBe(10);
    expect(await page.textContent(".pager")).toContain("the first 1,000 rows are shown");
    const findings = page.locator("a.finding");
    expect(await findings.count()).toBe(1); // row 1,100 is listed, but not linked: it is not shown
    expect(await page.textContent(".findings")).toContain("row 1100, column n");
    await Promise.all([page.waitForURL(/page=2#c-180-1$/), findings.click()]);
    expect(await page.evaluate("document.activeElement && document.activeElement.id")).toBe("c-180-1");
    expect(await page.getAttribute("#c-180-1", "class")).toContain("flag-fail");
    expect(await page.textContent("tbody tr:first-child th")).toBe("101");
    expect(rui.problems).toEqual([]);
  });

  it("moves with j/k, marks files with a/c/r as drafts, and finds the next unreviewed file with n", async () => {
    const { page } = rui;
    const mark = () => page.getAttribute("[data-mark]", "data-mark");
    /** A mark posts its form: the page reloads on the same URL. */
    const press = (key: string) => Promise.all([page.waitForNavigation(), page.keyboard.press(key)]);
    await page.goto(at(`/egress/${id}/files/0`));
    await press("a");
    expect(await mark()).toBe("approve");
    await Promise.all([page.waitForURL(at(`/egress/${id}/files/1`)), page.keyboard.press("j")]);
    await press("c");
    expect(await mark()).toBe("request_changes");
    await press("r");
    expect(await mark()).toBe("reject");
    await Promise.all([page.waitForURL(at(`/egress/${id}/files/0`)), page.keyboard.press("k")]);
    expect(await mark()).toBe("approve");
    await Promise.all([page.waitForURL(at(`/egress/${id}/files/2`)), page.keyboard.press("n")]);
    // The figure is shown as an image from the snapshot, loaded under the CSP.
    const loaded = await page.$eval("figure img", (img) => (img as unknown as { naturalWidth: number }).naturalWidth);
    expect(loaded).toBe(240);
    await shot(page, "04-file-review-image");
    await press("a");
    // A key typed into a field is text, not a shortcut.
    await page.goto(at(`/egress/${id}/decide`));
    await page.focus("textarea[name=comment]");
    await page.keyboard.type("j");
    expect(page.url()).toBe(at(`/egress/${id}/decide`));
    await page.fill("textarea[name=comment]", "");
    // Marks are server state: the request page and the queue show them.
    await page.goto(at(`/egress/${id}`));
    expect(await page.locator("tr[data-file='1'] td.mark-reject").count()).toBe(1);
    await page.goto(at(""));
    expect(await page.locator(`tr[data-request="${id}"] .progress`).textContent()).toBe("3 of 4 files");
  });

  it("keeps a draft decision and comment across a reload, without touching the request", async () => {
    const { page } = rui;
    await page.goto(at(`/egress/${id}/decide`));
    await page.check("input[name=decision][value=reject]");
    await page.fill("textarea[name=comment]", "Row 2 has a count of 4: suppress it");
    await page.waitForSelector("#save-state[data-saved=true]");
    await page.reload();
    expect(await page.isChecked("input[name=decision][value=reject]")).toBe(true);
    expect(await page.inputValue("textarea[name=comment]")).toBe("Row 2 has a count of 4: suppress it");
    const draft = await w.n.deps.store.get("review_draft", `${id}:rui`);
    expect(draft?.item).toMatchObject({ decision: "reject", files: ["approve", "reject", "approve", null] });
    expect((await w.n.deps.store.get("egress", id))?.version).toBe(1);
  });

  it("refuses to approve without a comment, in the form and on the server, and reviews nothing", async () => {
    const { page } = rui;
    // The form knows the server's rule for each decision (reject and request changes always need a comment).
    const form = page.locator("form[data-decision-form]");
    expect(await form.getAttribute("data-require-reject")).toBe("rejecting needs a comment telling the researcher why");
    expect(await form.getAttribute("data-require-request_changes")).toMatch(/^requesting changes needs a comment/);
    await page.check("input[name=decision][value=request_changes]");
    await page.fill("textarea[name=comment]", "");
    await page.click("button:has-text('Submit decision')");
    expect(await page.textContent("#comment-error")).toMatch(/^requesting changes needs a comment/);
    await page.check("input[name=decision][value=approve]");
    await page.click("button:has-text('Submit decision')");
    const error = page.locator("#comment-error");
    await expect
      .poll(() => error.textContent())
      .toContain("approving a request whose automated verdict is fail is an override");
    expect(await page.getAttribute("textarea[name=comment]", "aria-invalid")).toBe("true");
    expect(page.url()).toBe(at(`/egress/${id}/decide`));
    await shot(page, "05-decision-comment-required");
    // Without the script, the server says the same.
    const nojs = await openPage(browser, { javaScriptEnabled: false });
    await signIn(nojs.page, w.url, w.t.rui);
    await nojs.page.goto(at(`/egress/${id}/decide`));
    await nojs.page.check("input[name=decision][value=approve]");
    await nojs.page.fill("textarea[name=comment]", "");
    const res = await Promise.all([
      nojs.page.waitForResponse((r) => r.url().endsWith("/decision")),
      nojs.page.click("button:has-text('Submit decision')"),
    ]);
    expect(res[0].status()).toBe(400);
    expect(await nojs.page.textContent("#comment-error")).toContain("is an override: say why in a comment");
    await nojs.context.close();
    expect((await getRequest(w, id)).status).toBe("pending_review");
    expect((await getRequest(w, id)).reviews).toEqual([]);
  });

  it("approves with a comment after a confirmation, and the request is approved", async () => {
    const { page } = rui;
    await page.goto(at(`/egress/${id}/decide`));
    await page.check("input[name=decision][value=approve]");
    await page.fill("textarea[name=comment]", "4 is a published national figure");
    await Promise.all([
      page.waitForURL(at(`/egress/${id}/decision`)),
      page.click("button:has-text('Submit decision')"),
    ]);
    expect(await page.textContent("main h1")).toContain("Approve");
    expect((await getRequest(w, id)).status).toBe("pending_review"); // nothing until confirmed
    await shot(page, "06-confirm-approve");
    await Promise.all([page.waitForURL(at(`/egress/${id}?done=approved`)), page.click("button[data-action=confirm]")]);
    expect(await page.textContent(".notice-ok")).toContain("Approved");
    const r = await getRequest(w, id);
    expect(r).toMatchObject({
      status: "approved",
      reviews: [{ reviewer: "rui", decision: "approve", override: true, comment: "4 is a published national figure" }],
    });
    // Decided: the decision controls are gone, with the server's reason.
    expect(await page.textContent("main")).toContain(`egress request ${id} is already approved`);
    expect(await page.locator("main button[disabled]").count()).toBe(1);
    await shot(page, "07-request-approved");
  });

  it("lets the researcher download exactly the approved bytes", async () => {
    const alice = await openPage(browser);
    await signIn(alice.page, w.url, w.t.alice);
    await alice.page.goto(at(`/egress/${id}`));
    expect(await alice.page.locator("a[data-action=decide]").count()).toBe(0);
    await alice.page.click("button:has-text('Get download links')");
    await alice.page.waitForSelector("ul.downloads a");
    await shot(alice.page, "08-downloads");
    const [download] = await Promise.all([
      alice.page.waitForEvent("download"),
      alice.page.click("ul.downloads a:has-text('small.csv')"),
    ]);
    const bytes = readFileSync((await download.path()) as string);
    expect(bytes.toString()).toBe(SMALL);
    const sha = createHash("sha256").update(bytes).digest("hex");
    expect(sha).toBe((await getRequest(w, id)).files[0].sha256);
    expect(alice.problems).toEqual([]);
    await alice.context.close();
  });
});

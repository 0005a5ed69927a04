/**
 * The admin and auditor screens in headless Chromium against a real node: datasets, permits (created
 * from the form and from JSON, suspended, reinstated, revoked after a confirmation), live workspaces, the
 * audit search with its chain verification, and release records. Each action goes through core's use
 * cases, so the audit trail records it as it would from the API.
 */
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Browser } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { launch, openPage, shot, signIn, type Watched } from "./helpers/browser";
import { requestEgress, startWorld, type World, writeOutputs } from "./helpers/fixture";

let w: World;
let browser: Browser;
let ana: Watched;
let released: string;

beforeAll(async () => {
  [w, browser] = await Promise.all([startWorld(), launch()]);
  await writeOutputs(w, w.ws, { "t.csv": "group,n\na,25\nb,40\n" });
  released = await requestEgress(w, w.ws, ["t.csv"]);
  await w.n.call("POST", `/v1/egress-requests/${released}/reviews`, { token: w.t.rui, body: { decision: "approve" } });
  ana = await openPage(browser);
  await signIn(ana.page, w.url, w.t.admin);
});
afterAll(async () => {
  await browser?.close();
  await w?.close();
});
afterEach(() => {
  expect(ana.problems).toEqual([]);
});

const at = (path: string) => `${w.url}/console${path}`;
const local = (ms: number) => new Date(ms).toISOString().slice(0, 16); // datetime-local, UTC
const permitState = async (id: string) =>
  (await w.n.call("GET", `/v1/permits/${id}`, { token: w.t.admin })).body.status;

describe("admin screens", () => {
  it("lists datasets and registers one from the form, showing field errors first", async () => {
    const { page } = ana;
    expect(await page.textContent("header nav")).toMatch(
      /Datasets[\s\S]*Permits[\s\S]*Workspaces[\s\S]*Audit[\s\S]*Releases/,
    );
    await page.click("header nav >> text=Datasets");
    expect(await page.locator("tr[data-dataset='ds-onc']").count()).toBe(1);
    await page.fill("input[name=id]", "ds-second");
    await page.fill("input[name=title]", "Second registry");
    await page.fill("input[name=holder]", "Registo");
    await page.fill("input[name=source]", "http://example.org/data");
    await page.click("button:has-text('Register')");
    expect(await page.textContent(".field-errors")).toContain("source");
    expect(await page.inputValue("input[name=title]")).toBe("Second registry"); // nothing typed is lost
    await page.fill("input[name=source]", pathToFileURL(join(w.holder, "onc")).href);
    await page.fill("input[name=identifierColumns]", "patient_id");
    await Promise.all([page.waitForURL(at("/admin/datasets?done=1")), page.click("button:has-text('Register')")]);
    expect(await page.textContent("tr[data-dataset='ds-second']")).toContain("patient_id");
    await shot(page, "30-admin-datasets");
  });

  it("creates permits from the form and from JSON, refusing an invalid one with its field errors", async () => {
    const { page } = ana;
    await page.goto(at("/admin/permits"));
    await page.fill("input[name=id]", "PT-ADM-1");
    await page.fill("input[name=title]", "Readmissions");
    await page.selectOption("select[name=purpose]", "public_health");
    await page.fill("input[name=dataUser]", "Instituto Ricardo Jorge");
    await page.fill("input[name=principalInvestigator]", "bob");
    await page.fill("input[name=researchers]", "alice");
    await page.check("input[name=datasets][value=ds-onc]");
    await page.fill("input[name=validFrom]", local(Date.now() - 86_400_000));
    await page.fill("input[name=validUntil]", local(Date.now() + 30 * 86_400_000));
    await page.fill("input[name=reviewersRequired]", "2");
    await page.click("button:has-text('Create permit')");
    expect(await page.textContent(".field-errors")).toContain(
      "the principal investigator must be one of the researchers",
    );
    await shot(page, "31-admin-permit-errors");
    await page.fill("input[name=researchers]", "alice, bob");
    expect(await page.isChecked("input[name=datasets][value=ds-onc]")).toBe(true);
    await Promise.all([
      page.waitForURL(/\/admin\/permits\/PT-ADM-1\?done=created/),
      page.click("button:has-text('Create permit')"),
    ]);
    const created = (await w.n.call("GET", "/v1/permits/PT-ADM-1", { token: w.t.admin })).body;
    expect(created).toMatchObject({
      status: "active",
      researchers: ["alice", "bob"],
      egress: { reviewersRequired: 2 },
    });

    await page.goto(at("/admin/permits"));
    const json = {
      id: "PT-ADM-2",
      title: "Screening uptake",
      purpose: "statistics",
      dataUser: "INE",
      principalInvestigator: "carol",
      researchers: ["carol"],
      datasets: ["ds-onc"],
      validFrom: new Date(Date.now() - 86_400_000).toISOString(),
      validUntil: new Date(Date.now() + 86_400_000).toISOString(),
    };
    await page.fill("textarea[name=json]", JSON.stringify(json, null, 2));
    await Promise.all([page.waitForURL(/PT-ADM-2\?done=created/), page.click("button:has-text('Create from JSON')")]);
    expect(await permitState("PT-ADM-2")).toBe("active");
    await page.goto(at("/admin/permits"));
    expect(await page.locator("tr[data-permit]").count()).toBe(3);
    await shot(page, "32-admin-permits");
  });

  it("suspends, reinstates, and revokes a permit with a reason, revoking only after a confirmation", async () => {
    const { page } = ana;
    await page.goto(at("/admin/permits/PT-ADM-1"));
    await page.fill("form[action$='/suspend'] input[name=reason]", "ethics review pending");
    await Promise.all([page.waitForURL(/done=suspended/), page.click("button:has-text('Suspend')")]);
    expect(await permitState("PT-ADM-1")).toBe("suspended");
    expect(await page.textContent("main")).toContain("Reason given: ethics review pending");
    await Promise.all([page.waitForURL(/done=reinstated/), page.click("button:has-text('Reinstate')")]);
    expect(await permitState("PT-ADM-1")).toBe("active");
    await page.fill("form[action$='/revoke'] input[name=reason]", "data user withdrew");
    await page.click("button:has-text('Revoke')");
    expect(await page.textContent("main h1")).toBe("Revoke permit PT-ADM-1?");
    expect(await permitState("PT-ADM-1")).toBe("active"); // nothing happens before the confirmation
    await shot(page, "33-admin-revoke-confirm");
    await Promise.all([page.waitForURL(/done=revoked/), page.click("button[data-action=confirm]")]);
    expect(await permitState("PT-ADM-1")).toBe("revoked");
    expect(await page.locator("form[action*='/admin/permits/PT-ADM-1/']").count()).toBe(0); // revoked is final
    const audit = await w.n.call("GET", "/v1/audit?permitId=PT-ADM-1", { token: w.t.auditor });
    expect(audit.body.items.map((r: { action: string }) => r.action)).toEqual([
      "permit.created",
      "permit.suspended",
      "permit.reinstated",
      "permit.revoked",
      "permit.key_destroyed",
    ]);
  });

  it("lists the live workspaces", async () => {
    const { page } = ana;
    await page.click("header nav >> text=Workspaces");
    expect(await page.textContent(`tr[data-workspace='${w.ws}']`)).toMatch(/PT-CON-1\s*alice\s*ready/);
    await shot(page, "34-admin-workspaces");
  });

  it("searches the audit trail and verifies its chain", async () => {
    const { page } = ana;
    await page.goto(at("/admin/audit"));
    await page.fill("input[name=action]", "permit.suspended");
    await page.click("form.filters button");
    expect(await page.locator("table.audit tbody tr").count()).toBe(1);
    expect(await page.textContent("table.audit tbody")).toContain("ethics review pending");
    await page.click("button[data-action=verify]");
    expect(await page.textContent(".notice-ok")).toMatch(/^Chain verified: \d+ records/);
    await shot(page, "35-admin-audit");
  });

  it("lists release records and serves each as a Five Safes RO-Crate", async () => {
    const { page } = ana;
    await page.click("header nav >> text=Releases");
    expect(await page.textContent(`tr[data-release='${released}']`)).toContain("rui");
    await shot(page, "36-admin-releases");
    const res = await page.request.get(at(`/egress/${released}/release-record`));
    expect(res.headers()["content-disposition"]).toContain("ro-crate-metadata.json");
    const crate = (await res.json()) as { "@graph": { "@id": string }[] };
    expect(crate["@graph"][0]?.["@id"]).toBe("ro-crate-metadata.json");
  });

  it("gives an auditor the audit trail and releases, and refuses them the admin screens", async () => {
    const otto = await openPage(browser);
    await signIn(otto.page, w.url, w.t.auditor);
    const nav = await otto.page.textContent("header nav");
    expect(nav).toContain("Audit");
    expect(nav).not.toContain("Permits");
    expect((await otto.page.goto(at("/admin/permits")))?.status()).toBe(403);
    expect(await otto.page.textContent("main")).toContain("manage permits requires one of the roles: admin");
    expect((await otto.page.goto(at("/admin/audit")))?.status()).toBe(200);
    await otto.context.close();
  });
});

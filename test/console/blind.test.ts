/**
 * Blind voting with two reviewers (the permit requires 2), in the browser and in the JSON API: until the
 * last vote, each reviewer sees only their own; the request's history shows that someone voted, not who
 * or how; the requester sees no vote either. Also the permit history a reviewer checks for differencing.
 */
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launch, openPage, shot, signIn, type Watched } from "./helpers/browser";
import { BLIND_PERMIT, getRequest, requestEgress, startWorld, type World, writeOutputs } from "./helpers/fixture";

let w: World;
let browser: Browser;
let earlier: string;
let id: string;
let rui: Watched;
let vera: Watched;

beforeAll(async () => {
  [w, browser] = await Promise.all([startWorld({ blind: true }), launch()]);
  const ws = w.blindWs as string;
  await writeOutputs(w, ws, { "by-district.csv": "district,n\nPorto,120\nBraga,45\n" });
  earlier = await requestEgress(w, ws, ["by-district.csv"], "Figure 1");
  for (const t of [w.t.rui, w.t.vera]) {
    await w.n.call("POST", `/v1/egress-requests/${earlier}/reviews`, { token: t, body: { decision: "approve" } });
  }
  // The same table again, one person more in Porto: the difference between the two releases is a person.
  await writeOutputs(w, ws, { "by-district.csv": "district,n\nPorto,121\nBraga,45\n" });
  id = await requestEgress(w, ws, ["by-district.csv"], "Figure 1, updated");
  [rui, vera] = await Promise.all([openPage(browser), openPage(browser)]);
  await Promise.all([signIn(rui.page, w.url, w.t.rui), signIn(vera.page, w.url, w.t.vera)]);
});
afterAll(async () => {
  await browser?.close();
  await w?.close();
});

const at = (path: string) => `${w.url}/console${path}`;

async function approve(x: Watched, comment: string) {
  await x.page.goto(at(`/egress/${id}/decide`));
  expect(await x.page.textContent(".notice-info")).toContain("Blind review");
  await x.page.check("input[name=decision][value=approve]");
  await x.page.fill("textarea[name=comment]", comment);
  await Promise.all([
    x.page.waitForURL(at(`/egress/${id}/decision`)),
    x.page.click("button:has-text('Submit decision')"),
  ]);
  await Promise.all([x.page.waitForURL(/\?done=/), x.page.click("button[data-action=confirm]")]);
}

describe("blind voting with two reviewers", () => {
  it("shows the permit's earlier releases with their hashes, marking files named like this request's", async () => {
    await rui.page.goto(at(`/egress/${id}`));
    await rui.page.click("text=earlier releases");
    const release = rui.page.locator(`[data-release="${earlier}"]`);
    expect(await release.textContent()).toContain((await getRequest(w, earlier)).files[0].sha256);
    expect(await release.locator("tr.diff-same-name").count()).toBe(1); // same name: compare for differencing
    expect(await rui.page.locator(`[data-release="${id}"]`).count()).toBe(0); // not yet released
    await shot(rui.page, "20-permit-history");
  });

  it("hides the first reviewer's vote, and that and who voted, from the second, the requester and the JSON API", async () => {
    await rui.page.goto(at(`/egress/${id}/files/0`)); // rui looks at a file, then votes
    await approve(rui, "counts are all above 10");
    expect(await rui.page.textContent(".notice-ok")).toContain("Other reviewers' votes stay hidden");
    expect(await rui.page.textContent("ul.reviews")).toContain("rui");

    await vera.page.goto(at(`/egress/${id}`));
    const reviews = await vera.page.textContent("main");
    expect(reviews).toContain("Other reviewers' votes, and who has voted, stay hidden until the request is decided");
    expect(reviews).not.toMatch(/recorded|\(1\b/); // no count of the votes so far: they are all approvals
    expect(reviews).toContain("No reviews of yours yet");
    const activity = (await vera.page.textContent("table.activity")) as string;
    expect(activity).toContain("a reviewer"); // someone looked at a file...
    expect(activity).toContain("file viewed");
    expect(activity).not.toMatch(/rui|approve|reviewed|counts are all above/); // ...but not who, nor that they voted
    expect(await vera.page.locator("ul.reviews").count()).toBe(0);
    await shot(vera.page, "21-blind-second-reviewer");

    // The JSON API hides the same: the other reviewer, the requester, and the list.
    const asVera = await w.n.call("GET", `/v1/egress-requests/${id}`, { token: w.t.vera });
    expect(asVera.body).toMatchObject({
      status: "pending_review",
      reviews: [],
      blind: { reviewersRequired: 2 },
    });
    expect(asVera.body.blind).toEqual({ reviewersRequired: 2 });
    expect(JSON.stringify(asVera.body)).not.toContain("rui");
    const asAlice = await w.n.call("GET", `/v1/egress-requests/${id}`, { token: w.t.alice });
    expect(asAlice.body.reviews).toEqual([]);
    const listed = await w.n.call("GET", `/v1/egress-requests?permitId=${BLIND_PERMIT}&status=pending_review`, {
      token: w.t.vera,
    });
    expect(JSON.stringify(listed.body)).not.toContain("rui");
    const asRui = await w.n.call("GET", `/v1/egress-requests/${id}`, { token: w.t.rui });
    expect(asRui.body.reviews.map((r: { reviewer: string }) => r.reviewer)).toEqual(["rui"]);
    expect(rui.problems).toEqual([]);
    expect(vera.problems).toEqual([]);
  });

  it("reveals every vote once the last reviewer has voted", async () => {
    await approve(vera, "agreed");
    expect(await vera.page.textContent(".notice-ok")).toContain("Approved");
    const reviews = await vera.page.textContent("ul.reviews");
    expect(reviews).toContain("rui");
    expect(reviews).toContain("counts are all above 10");
    const activity = (await vera.page.textContent("table.activity")) as string;
    expect(activity).toContain("rui");
    expect(activity).toMatch(/rui\s*file viewed/);
    expect(activity.match(/reviewed/g)).toHaveLength(2); // both votes, with their authors
    expect(activity).not.toContain("a reviewer");
    await shot(vera.page, "22-blind-revealed");
    const asAlice = await w.n.call("GET", `/v1/egress-requests/${id}`, { token: w.t.alice });
    expect(asAlice.body).toMatchObject({ status: "approved", reviews: [{ reviewer: "rui" }, { reviewer: "vera" }] });
    expect(asAlice.body.blind).toBeUndefined();
    await rui.page.goto(at(`/permits/${BLIND_PERMIT}/history`));
    expect(await rui.page.locator("section.release").count()).toBe(2);
  });
});

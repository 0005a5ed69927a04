/** Blind voting: with reviewersRequired > 1, nobody sees another reviewer's vote until the request is decided. */
import { describe, expect, it } from "vitest";
import type { Deps } from "../ports";
import { activityOf } from "./actions";
import { blindView } from "./blind";
import { Egress } from "./index";
import type { Review } from "./schema";
import { actor, egressRequest, fixedClock, storeWith } from "./test-support";

const vote = (reviewer: string, decision: Review["decision"] = "approve"): Review => ({
  reviewer,
  decision,
  comment: decision === "approve" ? null : "why",
  override: false,
  at: "2026-06-01T10:00:00.000Z",
});
const rui = actor("rui", "reviewer");
const vera = actor("vera", "reviewer");

describe("blindView", () => {
  it("shows a viewer only their own vote while pending with several reviewers required", () => {
    const r = egressRequest({ reviews: [vote("rui"), vote("tom")] });
    // No count of the hidden votes: while pending they are all approvals, so a count would tell them.
    expect(blindView(r, vera, 3)).toEqual({ ...r, reviews: [], blind: { reviewersRequired: 3 } });
    expect(blindView(r, rui, 3)).toEqual({ ...r, reviews: [vote("rui")], blind: { reviewersRequired: 3 } });
  });

  it("shows every vote once decided, and never hides anything when one reviewer decides", () => {
    const decided = egressRequest({ status: "approved", reviews: [vote("rui"), vote("tom")] });
    expect(blindView(decided, vera, 2)).toEqual(decided);
    const single = egressRequest({ reviews: [vote("rui")] });
    expect(blindView(single, vera, 1)).toEqual(single);
  });
});

describe("blind voting through the use cases (what the JSON API answers)", () => {
  it("shows the votes as soon as a reject decides the request", async () => {
    const store = await storeWith(egressRequest({ verdict: "pass" }), 2);
    const deps = { store, clock: fixedClock, audit: store } as unknown as Deps;
    const mine = await Egress.review(deps, rui, "eg-1", { decision: "reject", comment: "cell of 3" });
    expect(mine.status).toBe("rejected");
    expect(mine.blind).toBeUndefined();
    expect((await Egress.get(deps, vera, "eg-1")).reviews.map((x) => x.reviewer)).toEqual(["rui"]);
  });

  it("keeps votes hidden while pending, in get, list and the review's own answer", async () => {
    const store = await storeWith(egressRequest({ verdict: "pass" }), 3);
    const deps = { store, clock: fixedClock, audit: store } as unknown as Deps;
    const first = await Egress.review(deps, rui, "eg-1", { decision: "approve" });
    expect(first).toMatchObject({
      status: "pending_review",
      reviews: [{ reviewer: "rui" }],
      blind: { reviewersRequired: 3 },
    });
    const seenByVera = await Egress.get(deps, vera, "eg-1");
    expect(seenByVera.reviews).toEqual([]);
    expect(seenByVera.blind).toEqual({ reviewersRequired: 3 });
    expect(JSON.stringify(seenByVera)).not.toContain("rui");
    const seenByRequester = await Egress.get(deps, actor("alice", "researcher"), "eg-1");
    expect(seenByRequester.reviews).toEqual([]);
    const listed = await Egress.list(deps, vera, { limit: 10 });
    expect(listed.items[0]?.reviews).toEqual([]);
    await Egress.review(deps, vera, "eg-1", { decision: "approve" });
    expect(await Egress.get(deps, vera, "eg-1")).toMatchObject({
      reviews: [{ reviewer: "vera" }],
      blind: { reviewersRequired: 3 },
    });
    // The stored request holds every vote: only what viewers are shown is blind.
    expect((await store.get("egress", "eg-1"))?.item.reviews).toHaveLength(2);
    await Egress.review(deps, actor("tom", "reviewer"), "eg-1", { decision: "reject", comment: "row 2" });
    expect((await Egress.get(deps, vera, "eg-1")).reviews.map((x) => x.reviewer)).toEqual(["rui", "vera", "tom"]);
  });

  it("leaves other reviewers' reviews out of the activity while blind, and their names off what they did", async () => {
    const store = await storeWith(egressRequest({ verdict: "pass" }), 2);
    const deps = { store, clock: fixedClock, audit: store } as unknown as Deps;
    const viewed = (who: string) => ({
      actor: who,
      action: "egress.file_viewed",
      target: "egress/eg-1",
      outcome: "allowed" as const,
      details: { workspaceId: "ws-1", egressId: "eg-1", index: 0, path: "outputs/t.csv" },
    });
    await store.commit({ writes: [], audit: [viewed("rui")] });
    await Egress.review(deps, rui, "eg-1", { decision: "approve", comment: "fine" });
    await store.commit({ writes: [], audit: [viewed("vera")] });
    const r = (await store.get("egress", "eg-1"))!.item;
    const forVera = await activityOf(deps, vera, r, 2);
    expect(forVera.entries.map((e) => [e.actor, e.action])).toEqual([
      ["a reviewer", "egress.file_viewed"],
      ["vera", "egress.file_viewed"],
    ]);
    expect(JSON.stringify(forVera)).not.toContain("rui");
    const forRui = await activityOf(deps, rui, r, 2);
    expect(forRui.entries.map((e) => [e.actor, e.action])).toEqual([
      ["rui", "egress.file_viewed"],
      ["rui", "egress.reviewed"],
      ["a reviewer", "egress.file_viewed"],
    ]);
    expect(forRui.entries[1]).toMatchObject({ details: { decision: "approve", commented: true } });
    // Once decided, everything is shown with its author.
    await Egress.review(deps, vera, "eg-1", { decision: "approve", comment: "fine too" });
    const decided = (await store.get("egress", "eg-1"))!.item;
    const after = await activityOf(deps, vera, decided, 2);
    expect(after.entries.map((e) => [e.actor, e.action])).toEqual([
      ["rui", "egress.file_viewed"],
      ["rui", "egress.reviewed"],
      ["vera", "egress.file_viewed"],
      ["vera", "egress.reviewed"],
    ]);
  });
});

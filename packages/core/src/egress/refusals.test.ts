/** The refusal rules shared by the use cases and the console's disabled actions, and the use cases using them. */
import { describe, expect, it } from "vitest";
import type { Deps } from "../ports";
import { actionsFor } from "./actions";
import { Egress } from "./index";
import { commentRefusal, commentRequirement, downloadRefusal, reviewRefusal, withdrawRefusal } from "./refusals";
import { actor, egressRequest, fixedClock, storeWith } from "./test-support";

const rui = actor("rui", "reviewer");
const alice = actor("alice", "researcher");

describe("reviewRefusal", () => {
  it("refuses non-reviewers, the requester (whatever their roles), decided and already reviewed requests", () => {
    const r = egressRequest();
    expect(reviewRefusal(rui, r)).toBeNull();
    expect(reviewRefusal(actor("ana", "admin"), r)?.code).toBe("auth.role_required");
    expect(reviewRefusal(actor("alice", "researcher", "reviewer"), r)?.code).toBe("egress.self_review");
    expect(reviewRefusal(rui, egressRequest({ status: "approved" }))?.message).toBe(
      "egress request eg-1 is already approved",
    );
    const reviewed = egressRequest({
      reviews: [{ reviewer: "rui", decision: "approve", comment: null, override: false, at: "x" }],
    });
    expect(reviewRefusal(rui, reviewed)?.code).toBe("egress.already_reviewed");
  });
});

describe("comment rules", () => {
  it("needs a comment to reject, to request changes, and to approve over a fail verdict", () => {
    expect(commentRequirement("approve", "pass")).toBeNull();
    expect(commentRequirement("approve", "review")).toBeNull();
    expect(commentRequirement("approve", "fail")).toMatch(/override/);
    expect(commentRequirement("reject", "pass")).toMatch(/^rejecting needs a comment/);
    expect(commentRequirement("request_changes", "pass")).toMatch(/^requesting changes needs a comment/);
    expect(commentRefusal("approve", "fail", null)?.code).toBe("egress.comment_required");
    expect(commentRefusal("approve", "fail", "published figure")).toBeNull();
  });

  it("is the rule the review use case enforces: nothing is written without the comment", async () => {
    const store = await storeWith(egressRequest());
    const deps = { store, clock: fixedClock } as unknown as Deps;
    await expect(Egress.review(deps, rui, "eg-1", { decision: "approve" })).rejects.toMatchObject({
      code: "egress.comment_required",
      message: commentRequirement("approve", "fail"),
    });
    expect((await store.get("egress", "eg-1"))?.version).toBe(1);
    expect(store.records.map((x) => [x.action, x.outcome])).toEqual([["egress.reviewed", "failed"]]);
  });
});

describe("withdraw and download refusals", () => {
  it("lets only the requester withdraw while pending, and download once approved", () => {
    expect(withdrawRefusal(alice, egressRequest())).toBeNull();
    expect(withdrawRefusal(rui, egressRequest())?.code).toBe("egress.not_requester");
    expect(withdrawRefusal(alice, egressRequest({ status: "rejected" }))?.code).toBe("egress.decided");
    expect(downloadRefusal(alice, egressRequest())?.code).toBe("egress.not_approved");
    expect(downloadRefusal(alice, egressRequest({ status: "approved" }))).toBeNull();
    expect(downloadRefusal(actor("carol", "researcher"), egressRequest({ status: "approved" }))?.code).toBe(
      "egress.not_requester",
    );
    expect(downloadRefusal(rui, egressRequest({ status: "approved" }))?.code).toBe("auth.role_required");
  });

  it("gives each action's state with the reason it would be refused with", () => {
    const self = actionsFor(actor("alice", "researcher", "reviewer"), egressRequest());
    expect(self.review).toEqual({
      allowed: false,
      code: "egress.self_review",
      reason: "you made this request: another reviewer must review it",
    });
    expect(self.withdraw).toEqual({ allowed: true });
    expect(actionsFor(rui, egressRequest()).review).toEqual({ allowed: true });
  });

  it("withdraw refuses with the same reason and writes nothing", async () => {
    const store = await storeWith(egressRequest());
    const deps = { store, clock: fixedClock } as unknown as Deps;
    await expect(Egress.withdraw(deps, actor("rui", "researcher", "reviewer"), "eg-1")).rejects.toMatchObject({
      code: "egress.not_requester",
    });
    expect((await store.get("egress", "eg-1"))?.item.status).toBe("pending_review");
  });
});

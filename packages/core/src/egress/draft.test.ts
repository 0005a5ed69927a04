/** Review drafts: server state of a reviewer's work in progress, never touching the request itself. */
import { describe, expect, it } from "vitest";
import type { Deps } from "../ports";
import { DraftInput, progressOf } from "./draft";
import { Egress } from "./index";
import { actor, egressRequest, fixedClock, storeWith } from "./test-support";

const rui = actor("rui", "reviewer");
const vera = actor("vera", "reviewer");
const draftOf = (input: unknown) => DraftInput.parse(input);

async function setup(required = 2) {
  const store = await storeWith(egressRequest(), required);
  return { store, deps: { store, clock: fixedClock, audit: store } as unknown as Deps };
}

describe("review drafts", () => {
  it("keeps marks, decision and comment per reviewer without bumping the request's version", async () => {
    const { store, deps } = await setup();
    expect(await Egress.draft(deps, rui, "eg-1")).toMatchObject({ files: [null, null], decision: null, comment: null });
    await Egress.saveDraft(deps, rui, "eg-1", draftOf({ file: { index: 1, mark: "reject" } }));
    await Egress.saveDraft(deps, rui, "eg-1", draftOf({ decision: "reject", comment: "  cell of 4  " }));
    await Egress.saveDraft(deps, vera, "eg-1", draftOf({ file: { index: 0, mark: "approve" } }));
    expect(await Egress.draft(deps, rui, "eg-1")).toMatchObject({
      id: "eg-1:rui",
      owner: "rui",
      files: [null, "reject"],
      decision: "reject",
      comment: "cell of 4",
    });
    expect((await Egress.draft(deps, vera, "eg-1"))?.files).toEqual(["approve", null]);
    expect((await store.get("egress", "eg-1"))?.version).toBe(1);
    // A review made while others draft does not conflict with them.
    expect((await Egress.review(deps, vera, "eg-1", { decision: "reject", comment: "no" })).status).toBe("rejected");
  });

  it("audits what changed but never the comment's text", async () => {
    const { store, deps } = await setup();
    await Egress.saveDraft(deps, rui, "eg-1", draftOf({ comment: "SECRET-WORDING" }));
    const rec = store.records.at(-1)!;
    expect(rec).toMatchObject({ actor: "rui", action: "egress.draft_saved", outcome: "allowed" });
    expect(rec.details).toMatchObject({ egressId: "eg-1", commented: true });
    expect(JSON.stringify(store.records)).not.toContain("SECRET-WORDING");
  });

  it("clears the comment with an empty string, and counts marked files as progress", async () => {
    const { deps } = await setup();
    await Egress.saveDraft(deps, rui, "eg-1", draftOf({ comment: "x", file: { index: 0, mark: "approve" } }));
    const d = await Egress.saveDraft(deps, rui, "eg-1", draftOf({ comment: "" }));
    expect(d.comment).toBeNull();
    expect(progressOf(egressRequest(), "rui", d)).toEqual({ marked: 1, total: 2, reviewed: false });
  });

  it.each([
    ["the requester", actor("alice", "researcher", "reviewer"), "egress.self_review"],
    ["a non-reviewer", actor("ana", "admin"), "auth.role_required"],
  ])("refuses %s and writes nothing", async (_, who, code) => {
    const { store, deps } = await setup();
    await expect(
      Egress.saveDraft(deps, who, "eg-1", draftOf({ file: { index: 0, mark: "approve" } })),
    ).rejects.toMatchObject({ code });
    expect(await store.get("review_draft", `eg-1:${who.sub}`)).toBeNull();
    expect(store.records.map((r) => r.outcome)).toEqual(["denied"]);
    expect(await Egress.draft(deps, who, "eg-1")).toBeNull();
  });

  it("refuses a file the request does not have, and drafts on a decided request", async () => {
    const { store, deps } = await setup(1);
    await expect(
      Egress.saveDraft(deps, rui, "eg-1", draftOf({ file: { index: 5, mark: "approve" } })),
    ).rejects.toMatchObject({ code: "egress.no_such_file" });
    await Egress.review(deps, vera, "eg-1", { decision: "reject", comment: "no" });
    await expect(Egress.saveDraft(deps, rui, "eg-1", draftOf({ decision: "approve" }))).rejects.toMatchObject({
      code: "egress.decided",
    });
    expect(await store.get("review_draft", "eg-1:rui")).toBeNull();
  });

  it("validates input: something must change, comments have no control characters", () => {
    expect(DraftInput.safeParse({}).success).toBe(false);
    expect(DraftInput.safeParse({ comment: "a\u202eb" }).success).toBe(false);
    expect(DraftInput.safeParse({ file: { index: 50, mark: "approve" } }).success).toBe(false);
    expect(DraftInput.safeParse({ decision: null }).success).toBe(true);
  });
});

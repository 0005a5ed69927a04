/**
 * Review drafts: a reviewer's work in progress on one request (a mark per file, the decision they are
 * leaning to, their comment), kept as server state so that a reload, another browser or a crash loses
 * nothing. A draft is its own entity (`review_draft`, id `<egressId>:<reviewer>`), never part of the
 * request: saving one does not bump the request's version, so reviewers drafting at the same time do not
 * make each other's reviews conflict. Only its reviewer reads it; it decides nothing (a review does).
 */
import { z } from "zod";
import { type Actor, requireRole } from "../actor";
import { NotFoundError, ValidationError } from "../errors";
import type { Deps } from "../ports";
import { audited, retryOnConflict } from "../usecase";
import { egressEvent } from "./lifecycle";
import { reviewRefusal } from "./refusals";
import { DECISIONS, type Decision, type EgressRequest, MAX_EGRESS_FILES } from "./schema";

export interface ReviewDraft {
  /** `<egressId>:<reviewer>`. */
  id: string;
  egressId: string;
  permitId: string;
  workspaceId: string;
  /** The reviewer. */
  owner: string;
  /** The reviewer's mark per file (index-aligned with the request's files); null: not looked at yet. */
  files: (Decision | null)[];
  decision: Decision | null;
  comment: string | null;
  updatedAt: string;
}

export const draftId = (egressId: string, reviewer: string) => `${egressId}:${reviewer}`;

/** A comment as typed so far: may be empty (cleared); bounded; no control or bidi-override characters. */
const DraftComment = z
  .string()
  .max(4000)
  .regex(/^[^\u0000-\u001f\u007f\u202a-\u202e\u2066-\u2069]*$/, "no control or bidirectional-override characters")
  .transform((s) => s.trim() || null);

/** A change to a draft: any of a file's mark, the decision, the comment (null clears). */
export const DraftInput = z
  .strictObject({
    file: z
      .strictObject({
        index: z
          .number()
          .int()
          .min(0)
          .max(MAX_EGRESS_FILES - 1),
        mark: z.enum(DECISIONS).nullable(),
      })
      .optional(),
    decision: z.enum(DECISIONS).nullable().optional(),
    comment: DraftComment.nullable().optional(),
  })
  .refine((d) => d.file !== undefined || d.decision !== undefined || d.comment !== undefined, {
    message: "change at least one of file, decision, comment",
  });
export type DraftInput = z.input<typeof DraftInput>;

/** An empty draft of `reviewer` on `r`. */
export function emptyDraft(r: EgressRequest, reviewer: string, at: string): ReviewDraft {
  return {
    id: draftId(r.id, reviewer),
    egressId: r.id,
    permitId: r.permitId,
    workspaceId: r.workspaceId,
    owner: reviewer,
    files: r.files.map(() => null),
    decision: null,
    comment: null,
    updatedAt: at,
  };
}

/** How far `reviewer` has got: files marked in their draft, or all of them once they have reviewed. */
export function progressOf(r: EgressRequest, reviewer: string, draft: ReviewDraft | null) {
  const reviewed = r.reviews.some((x) => x.reviewer === reviewer);
  const marked = reviewed ? r.files.length : (draft?.files.filter((m) => m !== null).length ?? 0);
  return { marked, total: r.files.length, reviewed };
}

/**
 * The actor's draft on request `id` (an empty one when they have none); null when they cannot review it
 * (not a reviewer, their own request): they have no draft to keep.
 * @throws NotFoundError when there is no such request.
 */
export async function getDraft(deps: Pick<Deps, "store" | "clock">, actor: Actor, id: string) {
  const v = await deps.store.get("egress", id);
  if (!v) throw new NotFoundError("egress", id);
  const refusal = reviewRefusal(actor, v.item);
  if (refusal && refusal.code !== "egress.decided" && refusal.code !== "egress.already_reviewed") return null;
  const found = await deps.store.get("review_draft", draftId(id, actor.sub));
  return found?.item ?? emptyDraft(v.item, actor.sub, deps.clock.now().toISOString());
}

/**
 * Saves a change to the actor's draft. Allowed exactly when the actor could review the request now.
 * Audited (the file index and mark, or the decision and whether there is a comment; never the comment).
 * @throws ForbiddenError (not a reviewer, own request), ConflictError (decided, already reviewed),
 * ValidationError (a file index the request does not have).
 */
export async function saveDraft(
  deps: Pick<Deps, "store" | "clock">,
  actor: Actor,
  id: string,
  input: z.output<typeof DraftInput>,
): Promise<ReviewDraft> {
  const ctx = { actor, action: "egress.draft_saved", target: `egress/${id}`, details: { egressId: id } };
  return audited(deps.store, ctx, () => {
    requireRole(actor, "review an egress request", "reviewer");
    return retryOnConflict(async () => {
      const v = await deps.store.get("egress", id);
      if (!v) throw new NotFoundError("egress", id);
      const r = v.item;
      const refused = reviewRefusal(actor, r);
      if (refused) throw refused;
      if (input.file && input.file.index >= r.files.length) {
        throw new ValidationError("egress.no_such_file", `egress request ${id} has ${r.files.length} file(s)`, [
          { path: "file.index", message: `must be below ${r.files.length}` },
        ]);
      }
      const now = deps.clock.now().toISOString();
      const found = await deps.store.get("review_draft", draftId(id, actor.sub));
      const draft = { ...(found?.item ?? emptyDraft(r, actor.sub, now)), updatedAt: now };
      const details: Record<string, string | number | boolean | null> = {};
      if (input.file) {
        draft.files = r.files.map((_, i) => (i === input.file?.index ? input.file.mark : (draft.files[i] ?? null)));
        details.fileIndex = input.file.index;
        details.mark = input.file.mark;
      }
      if (input.decision !== undefined) {
        draft.decision = input.decision;
        details.decision = input.decision;
      }
      if (input.comment !== undefined) {
        draft.comment = input.comment;
        details.commented = input.comment !== null;
      }
      await deps.store.commit({
        writes: [{ kind: "review_draft", item: draft, expectedVersion: found?.version ?? null }],
        audit: [egressEvent(actor.sub, ctx.action, r, details)],
      });
      return draft;
    });
  });
}

/** @jsxImportSource hono/jsx */
/**
 * Screen 4, the decision: approve, request changes or reject, with a comment where the server's rule asks
 * for one (the same `commentRequirement` the review use case enforces; the form checks it first, the
 * server always). The decision and comment are a draft on the server until sent, so a reload loses
 * nothing; approving and rejecting ask for confirmation on a page of their own (no script needed), and
 * only the confirmed post reviews. With several reviewers, the form says that votes are blind.
 */
import {
  commentRequirement,
  DECISIONS,
  type Decision,
  DomainError,
  DraftInput,
  Egress,
  type EgressView,
  type ReviewDraft,
  ReviewInput,
  reviewRefusal,
  ValidationError,
} from "@spe/core";
import type { Context, Hono } from "hono";
import type { ApiDeps } from "../../env";
import { CsrfField, label, Notice, Verdict, visible } from "../components";
import { csrfToken } from "../csrf";
import { Layout } from "../layout";
import type { ResolvedConsoleOptions } from "../options";
import { frameOf, send } from "../render";
import type { ConsoleEnv } from "../session";
import { decisionOf, formOf, ID, oneParagraph } from "./shared";

type Ctx = Context<ConsoleEnv>;
/** The order decisions are offered in: the mildest first. */
const ORDER: readonly Decision[] = ["approve", "request_changes", "reject"];

/** What the marks suggest: any reject → reject, any request for changes → request changes, all approved → approve. */
function suggestion(d: ReviewDraft): Decision | null {
  if (d.files.includes("reject")) return "reject";
  if (d.files.includes("request_changes")) return "request_changes";
  return d.files.length > 0 && d.files.every((m) => m === "approve") ? "approve" : null;
}

interface FormState {
  decision: Decision | null;
  comment: string;
  error?: string;
  saved?: boolean;
}

function DecisionPage(props: { r: EgressView; required: number; draft: ReviewDraft; csrf: string; s: FormState }) {
  const { r, draft, s } = props;
  const base = `/console/egress/${r.id}`;
  const rules = Object.fromEntries(
    DECISIONS.map((d) => [`data-require-${d}`, commentRequirement(d, r.verdict) ?? undefined]),
  );
  const hint = suggestion(draft);
  return (
    <>
      <p>
        <a href={base}>← Request {r.id}</a>
      </p>
      <h1>
        Decide on {r.id} <Verdict v={r.verdict} />
      </h1>
      {props.required > 1 ? (
        <Notice kind="info">
          {`Blind review: ${props.required} reviewers must approve. You will not see the others' votes, nor they yours, until all have voted.`}
        </Notice>
      ) : null}
      {s.saved ? <Notice kind="ok">Draft saved.</Notice> : null}
      <h2>Your marks</h2>
      <ul>
        {r.files.map((f, i) => (
          <li>
            <a href={`${base}/files/${i}`}>{visible(f.path)}</a> <Verdict v={f.verdict} />:{" "}
            <span class={draft.files[i] ? `mark-${draft.files[i]}` : "muted"}>
              {label(draft.files[i] ?? "not marked")}
            </span>
          </li>
        ))}
      </ul>
      {hint ? <p class="help">Your marks suggest: {label(hint)}.</p> : null}
      <form
        class="stack"
        method="post"
        action={`${base}/decision`}
        data-decision-form
        data-autosave={`${base}/draft`}
        {...rules}
      >
        <CsrfField token={props.csrf} />
        <fieldset>
          <legend>Decision</legend>
          {ORDER.map((d) => (
            <label class="inline">
              <input type="radio" name="decision" value={d} checked={s.decision === d} /> {label(d)}
            </label>
          ))}
        </fieldset>
        <label>
          Comment
          <textarea
            name="comment"
            aria-describedby="comment-rules comment-error"
            aria-invalid={s.error ? "true" : "false"}
          >
            {s.comment}
          </textarea>
        </label>
        <p id="comment-rules" class="help">
          A comment is required to reject, to request changes
          {r.verdict === "fail"
            ? ", and to approve this request (its automated verdict is fail: approving is an override)"
            : ""}
          . It is shown to the researcher and kept in the release record; line breaks become spaces.
        </p>
        <p id="comment-error" class="error-text" role="alert">
          {s.error ?? ""}
        </p>
        <p id="save-state" class="save-state" aria-live="polite" />
        <div class="actions">
          <button type="submit" formaction={`${base}/draft`} name="save" value="1">
            Save draft
          </button>
          <button type="submit" class="primary">
            Submit decision…
          </button>
        </div>
      </form>
    </>
  );
}

function ConfirmPage(props: { r: EgressView; decision: Decision; comment: string | null; csrf: string }) {
  const { r, decision } = props;
  const base = `/console/egress/${r.id}`;
  return (
    <section class="confirm">
      <h1>
        {decision === "approve" ? "Approve" : "Reject"} {r.id}?
      </h1>
      <p>
        {decision === "approve"
          ? `Approving releases ${r.files.length} file(s) to ${r.requester}${r.verdict === "fail" ? ", overriding the automated fail verdict" : ""}.`
          : `Rejecting ends this request: ${r.requester} will have to make a new one.`}{" "}
        This cannot be undone.
      </p>
      {props.comment ? <blockquote>{visible(props.comment)}</blockquote> : null}
      <form method="post" action={`${base}/decision`} class="actions">
        <CsrfField token={props.csrf} />
        <input type="hidden" name="decision" value={decision} />
        <input type="hidden" name="comment" value={props.comment ?? ""} />
        <input type="hidden" name="confirm" value="1" />
        <button type="submit" class={decision === "approve" ? "approve" : "danger"} data-action="confirm">
          Yes, {decision === "approve" ? "approve" : "reject"}
        </button>
        <a class="button" href={`${base}/decide`}>
          No, go back
        </a>
      </form>
    </section>
  );
}

export function decisionRoutes(app: Hono<ConsoleEnv>, deps: ApiDeps, o: ResolvedConsoleOptions): void {
  const base = `/egress/:id{${ID}}`;

  /** The decision page, after checking that the actor may decide (else the refusal's own error page). */
  async function page(c: Ctx, s: Partial<FormState> = {}, status: 200 | 400 = 200) {
    const actor = c.get("actor");
    const { request: r, reviewersRequired, draft } = await Egress.actions(deps, actor, c.req.param("id") as string);
    const refused = reviewRefusal(actor, r);
    if (refused || !draft)
      throw refused ?? new ValidationError("egress.not_reviewable", "this request cannot be reviewed");
    const state: FormState = { decision: draft.decision, comment: draft.comment ?? "", ...s };
    const csrf = csrfToken(o.sessionKey, c.get("session").sid);
    return send(
      c,
      <Layout title={`Decide on ${r.id}`} here="queue" {...frameOf(c, o)}>
        <DecisionPage r={r} required={reviewersRequired} draft={draft} csrf={csrf} s={state} />
      </Layout>,
      status,
    );
  }

  app.get(`${base}/decide`, (c) => page(c, { saved: c.req.query("saved") === "1" }));

  app.post(`${base}/draft`, async (c) => {
    const form = await formOf(c);
    const decision = decisionOf(form.decision);
    const input = DraftInput.safeParse({
      ...(decision ? { decision } : {}),
      ...(form.comment !== undefined ? { comment: oneParagraph(form.comment) } : {}),
    });
    const background = c.req.header("x-console-fetch") === "1";
    if (!input.success) {
      const why = input.error.issues[0]?.message ?? "the draft is not valid";
      if (background) return c.text(why, 400);
      return page(c, { decision: decision ?? null, comment: form.comment ?? "", error: why }, 400);
    }
    await Egress.saveDraft(deps, c.get("actor"), c.req.param("id"), input.data);
    return background ? c.body(null, 204) : c.redirect(`/console/egress/${c.req.param("id")}/decide?saved=1`, 303);
  });

  app.post(`${base}/decision`, async (c) => {
    const actor = c.get("actor");
    const id = c.req.param("id");
    const form = await formOf(c);
    const decision = decisionOf(form.decision);
    const comment = oneParagraph(form.comment).trim() || null;
    if (!decision) return page(c, { decision: null, comment: comment ?? "", error: "choose a decision first" }, 400);
    if (form.confirm !== "1") {
      const draft = DraftInput.safeParse({ decision, comment: comment ?? "" });
      if (!draft.success) {
        return page(
          c,
          { decision, comment: comment ?? "", error: draft.error.issues[0]?.message ?? "invalid comment" },
          400,
        );
      }
      await Egress.saveDraft(deps, actor, id, draft.data);
      const r = await Egress.get(deps, actor, id);
      const missing = comment ? null : commentRequirement(decision, r.verdict);
      if (missing) return page(c, { decision, comment: "", error: missing }, 400);
      if (decision !== "request_changes") {
        const csrf = csrfToken(o.sessionKey, c.get("session").sid);
        return send(
          c,
          <Layout title="Confirm" here="queue" {...frameOf(c, o)}>
            <ConfirmPage r={r} decision={decision} comment={comment} csrf={csrf} />
          </Layout>,
        );
      }
    }
    const input = ReviewInput.safeParse({ decision, ...(comment ? { comment } : {}) });
    if (!input.success)
      throw new ValidationError("request.invalid", input.error.issues[0]?.message ?? "invalid decision");
    try {
      const done = await Egress.review(deps, actor, id, input.data);
      return c.redirect(
        `/console/egress/${id}?done=${done.status === "pending_review" ? "reviewed" : done.status}`,
        303,
      );
    } catch (err) {
      if (err instanceof DomainError && err.code === "egress.comment_required") {
        return page(c, { decision, comment: comment ?? "", error: err.message }, 400);
      }
      throw err;
    }
  });
}

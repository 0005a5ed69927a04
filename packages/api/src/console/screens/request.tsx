/** @jsxImportSource hono/jsx */
/**
 * Screen 2, a request: the permit (purpose, data user), the justification, the files with their verdicts
 * and the viewer's marks so far, the reviews (blind while votes are hidden), the activity from the audit
 * trail, and the actions. An action the server would refuse is shown disabled with the server's reason;
 * the requester gets no decision controls on their own request at all, only the reason.
 */
import { type ActionState, type ActivityEntry, Egress, hasRole, Permit, type ReviewDraft } from "@spe/core";
import type { Hono } from "hono";
import type { ApiDeps } from "../../env";
import { CsrfField, fmtAge, fmtBytes, fmtTime, label, Notice, Refused, Status, Verdict, visible } from "../components";
import { csrfToken } from "../csrf";
import { Layout } from "../layout";
import type { ResolvedConsoleOptions } from "../options";
import { frameOf, send } from "../render";
import type { ConsoleEnv } from "../session";
import { ID, nextUnmarked } from "./shared";

const DONE: Record<string, string> = {
  approved: "Approved: the files are released.",
  rejected: "Rejected.",
  changes_requested: "Changes requested.",
  reviewed: "Your review is recorded. Other reviewers' votes stay hidden until all have voted.",
  withdrawn: "Withdrawn.",
};

/** Consecutive identical entries (a file viewed page after page) shown once, with a count. */
function grouped(entries: ActivityEntry[]) {
  const out: { e: ActivityEntry; n: number }[] = [];
  const key = (e: ActivityEntry) => JSON.stringify([e.actor, e.action, e.outcome, e.details]);
  for (const e of entries) {
    const last = out.at(-1);
    if (last && key(last.e) === key(e)) last.n++;
    else out.push({ e, n: 1 });
  }
  return out;
}

function ReviewAction({ id, state, draft }: { id: string; state: ActionState; draft: ReviewDraft | null }) {
  if (state.allowed) {
    const next = draft ? nextUnmarked(draft, -1) : 0;
    return (
      <div class="actions">
        <a class="button" href={`/console/egress/${id}/files/${next ?? 0}`}>
          Review files
        </a>
        <a class="button primary" href={`/console/egress/${id}/decide`} data-action="decide">
          Decide…
        </a>
      </div>
    );
  }
  if (state.code === "auth.role_required") return null;
  if (state.code === "egress.self_review") {
    return (
      <p class="reason" data-refused={state.code}>
        {state.reason}
      </p>
    );
  }
  return <Refused label="Decide…" state={state} id="decide" />;
}

export function requestRoute(app: Hono<ConsoleEnv>, deps: ApiDeps, o: ResolvedConsoleOptions): void {
  app.get(`/egress/:id{${ID}}`, async (c) => {
    const actor = c.get("actor");
    const id = c.req.param("id");
    const { request: r, reviewersRequired, actions, draft } = await Egress.actions(deps, actor, id);
    const permit = await Permit.get(deps, actor, r.permitId).catch(() => null);
    const activity = await Egress.activity(deps, actor, id);
    const csrf = csrfToken(o.sessionKey, c.get("session").sid);
    const requester = r.requester === actor.sub;
    const done = DONE[c.req.query("done") ?? ""];
    return send(
      c,
      <Layout title={`Request ${r.id}`} here="queue" {...frameOf(c, o)}>
        <p>
          <a href="/console">← Queue</a>
        </p>
        <h1>
          Request <span class="mono">{r.id}</span> <Status s={r.status} /> <Verdict v={r.verdict} />
        </h1>
        {done ? <Notice kind="ok">{done}</Notice> : null}
        <div class="cards">
          <section class="card" aria-labelledby="permit-h">
            <h2 id="permit-h">Permit</h2>
            <dl class="facts">
              <dt>Permit</dt>
              <dd>
                {r.permitId} <a href={`/console/permits/${r.permitId}/history?current=${r.id}`}>earlier releases</a>
              </dd>
              {permit ? (
                <>
                  <dt>Title</dt>
                  <dd>{permit.title}</dd>
                  <dt>Purpose</dt>
                  <dd>{label(permit.purpose)}</dd>
                  <dt>Data user</dt>
                  <dd>{permit.dataUser}</dd>
                  <dt>Permit status</dt>
                  <dd>{permit.status}</dd>
                </>
              ) : null}
              <dt>Reviewers needed</dt>
              <dd>{reviewersRequired}</dd>
            </dl>
          </section>
          <section class="card" aria-labelledby="req-h">
            <h2 id="req-h">Request</h2>
            <dl class="facts">
              <dt>Requester</dt>
              <dd>{r.requester}</dd>
              <dt>Workspace</dt>
              <dd class="mono">{r.workspaceId}</dd>
              <dt>Requested</dt>
              <dd>
                {fmtTime(r.createdAt)} ({fmtAge(r.createdAt, deps.clock.now())} ago)
              </dd>
              <dt>Decided</dt>
              <dd>{fmtTime(r.decidedAt)}</dd>
            </dl>
            <h2>Justification</h2>
            <p class="justification">{visible(r.justification)}</p>
          </section>
        </div>

        <h2>Actions</h2>
        <ReviewAction id={r.id} state={actions.review} draft={draft} />
        {requester ? (
          <div class="actions">
            {actions.withdraw.allowed ? (
              <form method="post" action={`/console/egress/${r.id}/withdraw`}>
                <CsrfField token={csrf} />
                <button type="submit">Withdraw…</button>
              </form>
            ) : (
              <Refused label="Withdraw" state={actions.withdraw} id="withdraw" />
            )}
            {actions.download.allowed ? (
              <form method="post" action={`/console/egress/${r.id}/downloads`}>
                <CsrfField token={csrf} />
                <button class="primary" type="submit">
                  Get download links
                </button>
              </form>
            ) : (
              <Refused label="Download" state={actions.download} id="download" />
            )}
          </div>
        ) : null}
        {hasRole(actor, "admin", "auditor") && r.status === "approved" ? (
          <p>
            <a href={`/console/egress/${r.id}/release-record`}>Release record (RO-Crate JSON)</a>
          </p>
        ) : null}

        <h2>Files</h2>
        <table class="files">
          <thead>
            <tr>
              <th class="num">#</th>
              <th>File</th>
              <th class="num">Size</th>
              <th>Verdict</th>
              <th>Findings</th>
              {draft ? <th>My decision so far</th> : null}
              <th />
            </tr>
          </thead>
          <tbody>
            {r.files.map((f, i) => {
              const mark = draft?.files[i] ?? null;
              return (
                <tr data-file={i}>
                  <td class="num">{i + 1}</td>
                  <td class="mono">{visible(f.path)}</td>
                  <td class="num">{fmtBytes(f.bytes)}</td>
                  <td>
                    <Verdict v={f.verdict} />
                  </td>
                  <td>
                    {f.findings.filter((x) => x.severity === "fail").length} fail,{" "}
                    {f.findings.filter((x) => x.severity === "review").length} review
                  </td>
                  {draft ? <td class={mark ? `mark-${mark}` : "muted"}>{mark ? label(mark) : "not yet"}</td> : null}
                  <td>
                    <a href={`/console/egress/${r.id}/files/${i}`}>Open</a>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>

        <h2>Reviews</h2>
        {r.blind ? (
          <Notice kind="info">
            {`Blind review: ${r.blind.reviewersRequired} reviewers must approve. Other reviewers' votes, and who has voted, stay hidden until the request is decided.`}
          </Notice>
        ) : null}
        {r.reviews.length === 0 ? (
          <p class="muted">No reviews {r.blind ? "of yours " : ""}yet.</p>
        ) : (
          <ul class="reviews">
            {r.reviews.map((x) => (
              <li>
                <strong>{x.reviewer}</strong>: <span class={`mark-${x.decision}`}>{label(x.decision)}</span>
                {x.override ? " (override of a fail verdict)" : ""} · {fmtTime(x.at)}
                {x.comment ? <blockquote>{visible(x.comment)}</blockquote> : null}
              </li>
            ))}
          </ul>
        )}

        <h2>Activity</h2>
        <table class="activity">
          <thead>
            <tr>
              <th>When</th>
              <th>Who</th>
              <th>What</th>
              <th>Outcome</th>
              <th>Details</th>
            </tr>
          </thead>
          <tbody>
            {grouped(activity.entries).map(({ e, n }) => (
              <tr>
                <td>{fmtTime(e.at)}</td>
                <td>{e.actor}</td>
                <td>
                  {e.action.replace("egress.", "").replaceAll("_", " ")}
                  {n > 1 ? ` ×${n}` : ""}
                </td>
                <td>{e.outcome}</td>
                <td class="muted">
                  {visible(
                    Object.entries(e.details)
                      .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(", ") : String(v)}`)
                      .join("; "),
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {activity.truncated ? <p class="muted">The history is cut: see the audit trail for the rest.</p> : null}
      </Layout>,
    );
  });
}

/** @jsxImportSource hono/jsx */
/**
 * Screen 1, the queue: requests (pending by default) with the reviewer's own progress (files marked in
 * their draft, k of n), the pass/review/fail mix of the files, age and permit; filters by status, permit,
 * verdict and "waiting for me". Filters travel in the query string: ids and statuses only, no data values.
 */
import { EGRESS_STATUSES, Egress, type EgressView, hasRole, Permit, progressOf, VERDICTS } from "@spe/core";
import type { Hono } from "hono";
import type { ApiDeps } from "../../env";
import { fmtAge, label, Status, Verdict } from "../components";
import { Layout } from "../layout";
import type { ResolvedConsoleOptions } from "../options";
import { frameOf, send } from "../render";
import type { ConsoleEnv } from "../session";

const pick = <T extends string>(v: string | undefined, allowed: readonly T[]): T | undefined =>
  allowed.includes(v as T) ? (v as T) : undefined;

function mix(r: EgressView) {
  const n = { pass: 0, review: 0, fail: 0 };
  for (const f of r.files) n[f.verdict]++;
  return n;
}

export function queueRoute(app: Hono<ConsoleEnv>, deps: ApiDeps, o: ResolvedConsoleOptions): void {
  app.get("/", async (c) => {
    const actor = c.get("actor");
    const q = c.req.query();
    const status = q.status === "all" ? undefined : (pick(q.status, EGRESS_STATUSES) ?? "pending_review");
    const verdict = pick(q.verdict, VERDICTS);
    const permitId = q.permit && /^[A-Za-z0-9._-]{1,128}$/.test(q.permit) ? q.permit : undefined;
    const reviewer = hasRole(actor, "reviewer");
    const todo = reviewer && q.todo === "1";
    const cursor = q.cursor && q.cursor.length <= 512 ? q.cursor : undefined;
    const page = await Egress.list(deps, actor, {
      limit: 100,
      ...(status ? { status } : {}),
      ...(permitId ? { permitId } : {}),
      ...(cursor ? { cursor } : {}),
    });
    const permits = await Permit.list(deps, actor, { limit: 500 });
    const rows = [];
    for (const r of page.items) {
      if (verdict && r.verdict !== verdict) continue;
      const draft = reviewer ? await Egress.draft(deps, actor, r.id) : null;
      const p = progressOf(r, actor.sub, draft);
      const mine = r.requester === actor.sub;
      if (todo && (mine || p.reviewed || r.status !== "pending_review")) continue;
      rows.push({ r, p, mine, n: mix(r) });
    }
    const now = deps.clock.now();
    const nextHref = page.next
      ? `/console?${new URLSearchParams({ ...(q.status ? { status: q.status } : {}), ...(permitId ? { permit: permitId } : {}), ...(verdict ? { verdict } : {}), ...(todo ? { todo: "1" } : {}), cursor: page.next })}`
      : null;
    return send(
      c,
      <Layout title="Queue" here="queue" {...frameOf(c, o)}>
        <h1>{reviewer ? "Review queue" : "Egress requests"}</h1>
        <form class="filters" method="get" action="/console">
          <label>
            Status
            <select name="status">
              {["all", ...EGRESS_STATUSES].map((s) => (
                <option value={s} selected={(status ?? "all") === s}>
                  {label(s)}
                </option>
              ))}
            </select>
          </label>
          <label>
            Permit
            <select name="permit">
              <option value="">any</option>
              {permits.items.map((p) => (
                <option value={p.id} selected={p.id === permitId}>
                  {p.id}
                </option>
              ))}
            </select>
          </label>
          <label>
            Verdict
            <select name="verdict">
              <option value="">any</option>
              {VERDICTS.map((v) => (
                <option value={v} selected={v === verdict}>
                  {v}
                </option>
              ))}
            </select>
          </label>
          {reviewer ? (
            <label class="inline">
              <input type="checkbox" name="todo" value="1" checked={todo} /> waiting for me
            </label>
          ) : null}
          <button type="submit">Filter</button>
        </form>
        {rows.length === 0 ? (
          <p class="muted">No requests match.</p>
        ) : (
          <table class="queue">
            <thead>
              <tr>
                <th>Request</th>
                <th>Permit</th>
                <th>Requester</th>
                <th>Files: pass / review / fail</th>
                <th>Verdict</th>
                {reviewer ? <th>My progress</th> : null}
                <th>Age</th>
                <th>Status</th>
              </tr>
            </thead>
            <tbody>
              {rows.map(({ r, p, mine, n }) => (
                <tr data-request={r.id}>
                  <td>
                    <a href={`/console/egress/${r.id}`}>{r.id}</a>
                  </td>
                  <td>{r.permitId}</td>
                  <td>{r.requester}</td>
                  <td class="mix">
                    <span class="badge verdict-pass">{n.pass}</span>{" "}
                    <span class="badge verdict-review">{n.review}</span>{" "}
                    <span class="badge verdict-fail">{n.fail}</span>
                  </td>
                  <td>
                    <Verdict v={r.verdict} />
                  </td>
                  {reviewer ? (
                    <td class="progress">
                      {mine ? "your request" : p.reviewed ? "reviewed" : `${p.marked} of ${p.total} files`}
                    </td>
                  ) : null}
                  <td>{fmtAge(r.createdAt, now)}</td>
                  <td>
                    <Status s={r.status} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {nextHref ? (
          <p>
            <a href={nextHref}>More requests</a>
          </p>
        ) : null}
      </Layout>,
    );
  });
}

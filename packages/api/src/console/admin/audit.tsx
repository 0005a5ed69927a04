/** @jsxImportSource hono/jsx */
/**
 * Admin and auditor, the audit trail: search by actor, action, permit, workspace (core's AuditQuery, the
 * API's own schema), and a "verify chain" button that runs the same verification as GET /v1/audit/verify
 * and shows its result. Search filters are identifiers, never data values.
 */
import { Audit, AuditQuery, type VerifyResult } from "@spe/core";
import type { Context, Hono } from "hono";
import type { ApiDeps } from "../../env";
import { fieldErrors } from "../../problem";
import { CsrfField, FieldErrors, fmtTime, Notice } from "../components";
import { csrfToken } from "../csrf";
import { Layout } from "../layout";
import type { ResolvedConsoleOptions } from "../options";
import { frameOf, send } from "../render";
import type { ConsoleEnv } from "../session";

const FILTERS = ["actor", "action", "permitId", "workspaceId", "after"] as const;

function VerifyOutcome({ v }: { v: VerifyResult }) {
  return v.ok ? (
    <Notice kind="ok">
      {`Chain verified: ${v.count} records, every hash and link intact${v.sealed ? `; last signed seal covers ${v.sealed.count} records (${fmtTime(v.sealed.at)})` : "; no signed seal yet"}.`}
    </Notice>
  ) : (
    <Notice kind="error">{`Chain broken at record ${v.brokenAt}: ${v.reason}`}</Notice>
  );
}

async function page(c: Context<ConsoleEnv>, deps: ApiDeps, o: ResolvedConsoleOptions, verified?: VerifyResult) {
  const actor = c.get("actor");
  const raw = c.req.query();
  const q = Object.fromEntries(FILTERS.filter((k) => raw[k]).map((k) => [k, raw[k]]));
  const parsed = AuditQuery.safeParse({ ...q, limit: 100, ...(raw.cursor ? { cursor: raw.cursor } : {}) });
  const results = parsed.success ? await Audit.list(deps, actor, parsed.data) : null;
  if (!parsed.success) await Audit.list(deps, actor, { limit: 1 }); // the role check (and its audit) still applies
  const next = results?.next ? `/console/admin/audit?${new URLSearchParams({ ...q, cursor: results.next })}` : null;
  return send(
    c,
    <Layout title="Audit trail" here="audit" {...frameOf(c, o)}>
      <h1>Audit trail</h1>
      <form method="post" action="/console/admin/audit/verify" class="actions">
        <CsrfField token={csrfToken(o.sessionKey, c.get("session").sid)} />
        <button type="submit" class="primary" data-action="verify">
          Verify chain
        </button>
      </form>
      {verified ? <VerifyOutcome v={verified} /> : null}
      <form class="filters" method="get" action="/console/admin/audit">
        <label>
          Actor <input type="search" name="actor" value={q.actor} />
        </label>
        <label>
          Action <input type="search" name="action" value={q.action} placeholder="egress.reviewed" />
        </label>
        <label>
          Permit <input type="search" name="permitId" value={q.permitId} />
        </label>
        <label>
          Workspace <input type="search" name="workspaceId" value={q.workspaceId} />
        </label>
        <label>
          After seq <input type="number" name="after" min="0" value={q.after} />
        </label>
        <button type="submit">Search</button>
      </form>
      {parsed.success ? null : <FieldErrors errors={fieldErrors(parsed.error.issues)} />}
      <table class="audit">
        <thead>
          <tr>
            <th class="num">Seq</th>
            <th>At</th>
            <th>Actor</th>
            <th>Action</th>
            <th>Outcome</th>
            <th>Target</th>
            <th>Details</th>
          </tr>
        </thead>
        <tbody>
          {(results?.items ?? []).map((r) => (
            <tr>
              <td class="num">{r.seq}</td>
              <td>{fmtTime(r.at)}</td>
              <td>{r.actor}</td>
              <td>{r.action}</td>
              <td>{r.outcome}</td>
              <td class="mono">{r.target}</td>
              <td class="mono muted">{JSON.stringify(r.details)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {next ? (
        <p>
          <a href={next}>Next records</a>
        </p>
      ) : null}
    </Layout>,
  );
}

export function adminAuditRoutes(app: Hono<ConsoleEnv>, deps: ApiDeps, o: ResolvedConsoleOptions): void {
  app.get("/admin/audit", (c) => page(c, deps, o));
  app.post("/admin/audit/verify", async (c) => page(c, deps, o, await Audit.verify(deps, c.get("actor"))));
}

/** @jsxImportSource hono/jsx */
/** Admin and auditor, release records: every approved request, with its Five Safes RO-Crate to download. */
import { Egress, listAll, requireRole } from "@spe/core";
import type { Hono } from "hono";
import type { ApiDeps } from "../../env";
import { fmtTime } from "../components";
import { Layout } from "../layout";
import type { ResolvedConsoleOptions } from "../options";
import { frameOf, send } from "../render";
import type { ConsoleEnv } from "../session";

export function adminReleaseRoutes(app: Hono<ConsoleEnv>, deps: ApiDeps, o: ResolvedConsoleOptions): void {
  app.get("/admin/releases", async (c) => {
    const actor = c.get("actor");
    requireRole(actor, "read release records", "admin", "auditor");
    const approved = await listAll((page) => Egress.list(deps, actor, { ...page, status: "approved" }));
    approved.sort((a, b) => (b.decidedAt ?? "").localeCompare(a.decidedAt ?? ""));
    return send(
      c,
      <Layout title="Release records" here="releases" {...frameOf(c, o)}>
        <h1>Release records ({approved.length})</h1>
        <table>
          <thead>
            <tr>
              <th>Request</th>
              <th>Permit</th>
              <th>Requester</th>
              <th>Released</th>
              <th>Reviewers</th>
              <th class="num">Files</th>
              <th>Record</th>
            </tr>
          </thead>
          <tbody>
            {approved.map((r) => (
              <tr data-release={r.id}>
                <td>
                  <a href={`/console/egress/${r.id}`}>{r.id}</a>
                </td>
                <td>{r.permitId}</td>
                <td>{r.requester}</td>
                <td>{fmtTime(r.decidedAt)}</td>
                <td>{r.reviews.map((x) => `${x.reviewer}${x.override ? " (override)" : ""}`).join(", ")}</td>
                <td class="num">{r.files.length}</td>
                <td>
                  <a href={`/console/egress/${r.id}/release-record`}>RO-Crate JSON</a>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Layout>,
    );
  });
}

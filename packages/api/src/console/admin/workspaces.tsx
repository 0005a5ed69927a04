/** @jsxImportSource hono/jsx */
/** Admin, live workspaces: every workspace provisioning, ready or stopping, with its permit, owner and expiry. */
import { LIVE_STATUSES, listAll, requireRole, Workspace } from "@spe/core";
import type { Hono } from "hono";
import type { ApiDeps } from "../../env";
import { fmtTime } from "../components";
import { Layout } from "../layout";
import type { ResolvedConsoleOptions } from "../options";
import { frameOf, send } from "../render";
import type { ConsoleEnv } from "../session";

export function adminWorkspaceRoutes(app: Hono<ConsoleEnv>, deps: ApiDeps, o: ResolvedConsoleOptions): void {
  app.get("/admin/workspaces", async (c) => {
    const actor = c.get("actor");
    requireRole(actor, "see live workspaces", "admin");
    const live = [];
    for (const status of LIVE_STATUSES) {
      live.push(...(await listAll((page) => Workspace.list(deps, actor, { ...page, status }))));
    }
    live.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    return send(
      c,
      <Layout title="Live workspaces" here="workspaces" {...frameOf(c, o)}>
        <h1>Live workspaces ({live.length})</h1>
        {live.length === 0 ? <p class="muted">No workspace is running.</p> : null}
        <table>
          <thead>
            <tr>
              <th>Workspace</th>
              <th>Permit</th>
              <th>Owner</th>
              <th>Status</th>
              <th>Isolation</th>
              <th>Started</th>
              <th>Expires</th>
            </tr>
          </thead>
          <tbody>
            {live.map((w) => (
              <tr data-workspace={w.id}>
                <td class="mono">{w.id}</td>
                <td>{w.permitId}</td>
                <td>{w.owner}</td>
                <td>{w.status}</td>
                <td>{w.isolation ?? "—"}</td>
                <td>{fmtTime(w.createdAt)}</td>
                <td>{fmtTime(w.expiresAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Layout>,
    );
  });
}

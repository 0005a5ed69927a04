/**
 * The sweeper: the backstop behind per-workspace timers. Terminates every overdue workspace, finishes
 * interrupted terminations, processes permit expiry, and (at startup) resumes interrupted provisioning.
 * A workspace therefore never outlives its `expiresAt` by more than the sweep interval, even across restarts.
 */
import { listAll } from "./paging";
import { Permit } from "./permit";
import type { Deps } from "./ports";
import { LIVE_STATUSES, Workspace } from "./workspace";

const SWEEPER = "system:sweeper";

export interface SweepReport {
  workspacesTerminated: number;
  permitsExpired: number;
  provisioningResumed: number;
}

export async function sweep(deps: Deps, opts: { resumeProvisioning?: boolean } = {}): Promise<SweepReport> {
  const report: SweepReport = { workspacesTerminated: 0, permitsExpired: 0, provisioningResumed: 0 };
  const now = deps.clock.now().toISOString();

  const permits = await listAll((page) => deps.store.list("permit", {}, page));
  for (const p of permits) {
    if (!p.item.expiryProcessedAt && p.item.validUntil <= now) {
      if (await Permit.processExpiry(deps, SWEEPER, p.item.id)) report.permitsExpired++;
    }
  }

  const live = await listAll((page) => deps.store.list("workspace", { status: LIVE_STATUSES }, page));
  for (const { item: ws } of live) {
    if (ws.status === "stopping" || ws.expiresAt <= now) {
      if (await Workspace.expire(deps, ws.id, SWEEPER)) report.workspacesTerminated++;
    } else if (ws.status === "provisioning" && opts.resumeProvisioning) {
      deps.dispatcher.dispatch({ type: "workspace.provision", workspaceId: ws.id });
      report.provisioningResumed++;
    }
  }
  return report;
}

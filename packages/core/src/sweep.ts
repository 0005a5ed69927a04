/**
 * The sweeper: the backstop behind per-workspace timers. Terminates every overdue workspace, finishes
 * interrupted terminations, processes permit expiry, and at startup resumes interrupted provisioning and
 * removes what ended workspaces left in the runtime. Where provisioning runs elsewhere (a Lambda invoked
 * asynchronously), it also dispatches again a provisioning that is overdue (`resumeProvisioningAfterMs`).
 * A workspace therefore never outlives its `expiresAt` by more than the sweep interval, even across restarts.
 */

import { Job } from "./job";
import { endOpenJobs } from "./job/lifecycle";
import { listAll } from "./paging";
import { keyDue, Permit } from "./permit";
import type { Deps } from "./ports";
import { LIVE_STATUSES, Workspace } from "./workspace";

const SWEEPER = "system:sweeper";

export interface SweepReport {
  workspacesTerminated: number;
  permitsExpired: number;
  /** Permits whose data was crypto-shredded (revoked, or expired beyond the grace period). */
  keysDestroyed: number;
  /** Ready workspaces whose runtime view was rebuilt (after a reboot). */
  viewsRestored: number;
  provisioningResumed: number;
  /** What could not be done this time (retried at the next sweep); one failure never stops the others. */
  failures: { target: string; error: unknown }[];
}

export interface SweepOptions {
  /** The sweep at startup: also resumes every provisioning, rebuilds runtime views, removes leftovers. */
  atStartup?: boolean;
  /**
   * Dispatches again the provisioning of workspaces still `provisioning` this long after their launch or their
   * last retry (a dispatch that was lost, a run that died), once per period. Longer than any provisioning run
   * may take, so two runs never overlap. @default never
   */
  resumeProvisioningAfterMs?: number;
}

export async function sweep(deps: Deps, opts: SweepOptions = {}): Promise<SweepReport> {
  const report: SweepReport = {
    workspacesTerminated: 0,
    permitsExpired: 0,
    keysDestroyed: 0,
    viewsRestored: 0,
    provisioningResumed: 0,
    failures: [],
  };
  const attempt = async (target: string, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (error) {
      report.failures.push({ target, error });
    }
  };
  const now = deps.clock.now().toISOString();

  const permits = await listAll((page) => deps.store.list("permit", {}, page));
  for (const p of permits) {
    if (!p.item.expiryProcessedAt && p.item.validUntil <= now) {
      await attempt(`permit/${p.item.id}`, async () => {
        if (await Permit.processExpiry(deps, SWEEPER, p.item.id)) report.permitsExpired++;
      });
    }
  }

  if (opts.atStartup) {
    // Permits created before this node had per-permit keys get theirs (createPermitKey is idempotent).
    for (const p of permits) {
      if (!p.item.keyDestroyedAt) await attempt(`permit/${p.item.id}`, () => deps.keys.createPermitKey(p.item.id));
    }
  }
  for (const p of permits) {
    if (keyDue(p.item, deps.policy, deps.clock.now())) {
      await attempt(`permit/${p.item.id}`, async () => {
        const why = p.item.adminState === "revoked" ? "revoked" : "expired";
        if (await Permit.destroyKey(deps, SWEEPER, p.item.id, why)) report.keysDestroyed++;
      });
    }
  }

  const live = await listAll((page) => deps.store.list("workspace", { status: LIVE_STATUSES }, page));
  for (const { item: ws } of live) {
    if (ws.status === "stopping" || ws.expiresAt <= now) {
      await attempt(`workspace/${ws.id}`, async () => {
        if (await Workspace.expire(deps, ws.id, SWEEPER)) report.workspacesTerminated++;
      });
    } else if (ws.status === "provisioning" && opts.atStartup) {
      deps.dispatcher.dispatch({ type: "workspace.provision", workspaceId: ws.id });
      report.provisioningResumed++;
    } else if (ws.status === "provisioning" && opts.resumeProvisioningAfterMs !== undefined) {
      const afterMs = opts.resumeProvisioningAfterMs;
      await attempt(`workspace/${ws.id}`, async () => {
        if (await Workspace.retryProvisioning(deps, ws.id, afterMs, SWEEPER)) report.provisioningResumed++;
      });
    } else if (ws.status === "ready") {
      await attempt(`workspace/${ws.id}`, async () => {
        if (opts.atStartup) {
          // Jobs that were running when the controller stopped died with it (--die-with-parent).
          await endOpenJobs(deps, SWEEPER, ws.id, "failed", "the controller restarted while the job was running");
          if (await Workspace.restoreView(deps, ws.id)) report.viewsRestored++;
        }
        // A queued job waits for a job to end or a new one to be submitted; if its start was lost (the
        // controller or a Lambda died in between), this starts it.
        await Job.pump(deps, ws.id);
      });
    }
  }
  if (opts.atStartup) {
    // A crash between "terminated" and the runtime's cleanup must not leave a workspace's files behind.
    const ended = await listAll((page) => deps.store.list("workspace", { status: ["terminated", "failed"] }, page));
    for (const { item: ws } of ended) {
      await attempt(`workspace/${ws.id}`, async () => {
        if (await deps.runtime.exists(ws.id)) await deps.runtime.stop(ws.id);
      });
    }
  }
  return report;
}

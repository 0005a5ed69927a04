/**
 * What a viewer of a request may do next, with the server's reason for each action it would refuse, and
 * the request's activity from the audit trail. Both serve screens that show disabled actions with their
 * reason and a history: they reuse the refusal rules of the use cases (refusals.ts), so a button is
 * disabled exactly when the action would be refused, for the reason it would be refused with.
 */
import type { Actor } from "../actor";
import type { AuditRecord, DetailValue } from "../audit/record";
import type { DomainError } from "../errors";
import type { Deps } from "../ports";
import { isBlind } from "./blind";
import { downloadRefusal, reviewRefusal, withdrawRefusal } from "./refusals";
import type { EgressRequest } from "./schema";

export type ActionState = { allowed: true } | { allowed: false; code: string; reason: string };

export interface EgressActions {
  review: ActionState;
  withdraw: ActionState;
  download: ActionState;
}

const state = (err: DomainError | null): ActionState =>
  err ? { allowed: false, code: err.code, reason: err.message } : { allowed: true };

/** The actions on `r` for `actor` (who may already see `r`). */
export function actionsFor(actor: Actor, r: EgressRequest): EgressActions {
  return {
    review: state(reviewRefusal(actor, r)),
    withdraw: state(withdrawRefusal(actor, r)),
    download: state(downloadRefusal(actor, r)),
  };
}

/** One line of a request's history: who did what, when, with the details that are safe to show. */
export interface ActivityEntry {
  seq: number;
  at: string;
  actor: string;
  action: string;
  outcome: AuditRecord["outcome"];
  details: Record<string, DetailValue>;
}

/** Details shown per action; everything else (hashes lists, codes of others' refusals) stays in the trail. */
const SHOWN: Record<string, readonly string[]> = {
  "egress.requested": ["verdict", "files", "verdicts"],
  "egress.reviewed": ["decision", "override", "commented", "status", "code"],
  "egress.withdrawn": ["code"],
  "egress.cancelled": ["reason"],
  "egress.file_viewed": ["index", "path", "code"],
  "egress.links_created": ["files", "expiresAt", "code"],
  "egress.downloaded": ["path", "code"],
};

/** Past this many records of the workspace, the history is cut (and says so). */
export const ACTIVITY_SCAN_LIMIT = 20_000;

/**
 * The request's history from the audit trail, oldest first, for a viewer who may see the request. Drafts
 * never appear. While votes are blind, other reviewers' reviews do not appear at all (while pending every
 * recorded vote is an approval, so even a row without its decision would tell one), and what other
 * reviewers did (files viewed) appears as done by "a reviewer": who looked is a hint of who voted.
 */
export async function activityOf(
  deps: Pick<Deps, "audit">,
  viewer: Actor,
  r: EgressRequest,
  reviewersRequired: number,
): Promise<{ entries: ActivityEntry[]; truncated: boolean }> {
  const blind = isBlind(r, reviewersRequired);
  const target = `egress/${r.id}`;
  const entries: ActivityEntry[] = [];
  let cursor: string | undefined;
  let scanned = 0;
  do {
    const page = await deps.audit.query({ workspaceId: r.workspaceId, limit: 500, cursor });
    scanned += page.items.length;
    for (const rec of page.items) {
      if (rec.target !== target) continue;
      if (rec.action === "egress.draft_saved") continue; // working notes, not history
      const other = blind && rec.actor !== viewer.sub && rec.actor !== r.requester;
      if (other && rec.action === "egress.reviewed") continue; // the audit trail itself keeps every vote
      const details: Record<string, DetailValue> = {};
      for (const k of SHOWN[rec.action] ?? [])
        if (rec.details[k] !== undefined) details[k] = rec.details[k] as DetailValue;
      entries.push({
        seq: rec.seq,
        at: rec.at,
        actor: other ? "a reviewer" : rec.actor,
        action: rec.action,
        outcome: rec.outcome,
        details,
      });
    }
    cursor = page.next ?? undefined;
  } while (cursor && scanned < ACTIVITY_SCAN_LIMIT);
  return { entries, truncated: cursor !== undefined };
}

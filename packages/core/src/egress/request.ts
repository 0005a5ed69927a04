/** Creating an egress request: validate, snapshot, check every file, then record it pending review. */
import { type Actor, requireRole } from "../actor";
import { ForbiddenError } from "../errors";
import type { Deps, PermitKeys } from "../ports";
import { audited } from "../usecase";
import { visibleWorkspace } from "../workspace/access";
import { loadIdentifierSet } from "../workspace/staging";
import { type CheckPolicy, checkFile } from "./checks";
import { egressEvent, worstVerdict } from "./lifecycle";
import type { EgressFile, EgressInput, EgressRequest } from "./schema";
import { egressKeys, readSnapshot, snapshotFiles } from "./snapshot";

/** The checks' policy for a permit: its egress settings, its datasets' identifier columns, staged identifiers. */
async function checkPolicy(deps: Deps, keys: PermitKeys, permitId: string, workspaceId: string): Promise<CheckPolicy> {
  const permit = await deps.store.get("permit", permitId);
  const egress = permit?.item.egress;
  const identifierColumns: string[] = [];
  for (const id of permit?.item.datasets ?? []) {
    const ds = await deps.store.get("dataset", id);
    identifierColumns.push(...(ds?.item.identifierColumns ?? []));
  }
  const known = await loadIdentifierSet(deps, keys, { id: workspaceId, permitId });
  return {
    minCellCount: egress?.minCellCount ?? 10,
    minDegreesOfFreedom: egress?.minDegreesOfFreedom ?? 10,
    zeros: egress?.zeros ?? "review",
    ...(egress?.roundTo ? { roundTo: egress.roundTo } : {}),
    identifierColumns,
    ...(known ? { knownIdentifier: (v: string) => known.has(v) } : {}),
  };
}

export async function createRequest(
  deps: Deps,
  actor: Actor,
  workspaceId: string,
  input: EgressInput,
): Promise<EgressRequest> {
  const ctx = { actor, action: "egress.requested", target: `workspace/${workspaceId}`, details: { workspaceId } };
  return audited(deps.store, ctx, async () => {
    requireRole(actor, "request an egress", "researcher");
    const ws = (await visibleWorkspace(deps, actor, workspaceId, ctx.action)).item;
    if (ws.owner !== actor.sub) {
      throw new ForbiddenError("workspace.not_owner", `only the owner of workspace ${workspaceId} can request egress`);
    }
    const permit = await deps.store.get("permit", ws.permitId);
    const maxBytes = permit?.item.egress.maxFileBytes ?? 10 * 1024 * 1024;
    const keys = await deps.keys.permitKeys(ws.permitId);
    const id = deps.ids.next("eg");
    const at = egressKeys(ws.permitId, id);
    try {
      const snapshots = await snapshotFiles(deps, keys, ws, id, input.files, maxBytes);
      const policy = await checkPolicy(deps, keys, ws.permitId, ws.id);
      const files: EgressFile[] = [];
      for (const [i, s] of snapshots.entries()) {
        const result = await checkFile(s.path, readSnapshot(deps, keys, ws.permitId, id, i), policy);
        files.push({ ...s, verdict: result.verdict, findings: result.findings });
      }
      const request: EgressRequest = {
        id,
        workspaceId,
        permitId: ws.permitId,
        requester: actor.sub,
        status: "pending_review",
        createdAt: deps.clock.now().toISOString(),
        justification: input.justification,
        files,
        verdict: worstVerdict(files.map((f) => f.verdict)),
        reviews: [],
        decidedAt: null,
      };
      // Names, sizes, hashes and verdicts only: never the findings' messages or any content.
      await deps.store.commit({
        writes: [{ kind: "egress", item: request, expectedVersion: null }],
        audit: [
          egressEvent(actor.sub, "egress.requested", request, {
            verdict: request.verdict,
            files: files.map((f) => f.path),
            sha256: files.map((f) => f.sha256),
            verdicts: files.map((f) => f.verdict),
            bytes: files.reduce((n, f) => n + f.bytes, 0),
          }),
        ],
      });
      return request;
    } catch (err) {
      await deps.objects.deletePrefix(at.base).catch(() => {}); // no request: no snapshot either
      throw err;
    }
  });
}

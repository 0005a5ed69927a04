/** Who may see a workspace: its owner (a researcher) and admins. Anyone else gets a 404, audited as denied. */
import { type Actor, hasRole } from "../actor";
import { ConflictError, NotFoundError } from "../errors";
import type { Deps, Versioned } from "../ports";
import { recordRefusal } from "../usecase";
import type { Workspace } from "./schema";

const canSee = (actor: Actor, ws: Workspace) =>
  hasRole(actor, "admin") || (hasRole(actor, "researcher") && ws.owner === actor.sub);

/** Loads a workspace the actor may see; another's workspace is a 404 (audited as denied). */
export async function visibleWorkspace(
  deps: Pick<Deps, "store">,
  actor: Actor,
  id: string,
  action: string,
): Promise<Versioned<Workspace>> {
  const found = await deps.store.get("workspace", id);
  if (!found) throw new NotFoundError("workspace", id);
  if (!canSee(actor, found.item)) {
    const err = new NotFoundError("workspace", id);
    await recordRefusal(deps.store, { actor, action, target: `workspace/${id}`, details: { workspaceId: id } }, err);
    throw err;
  }
  return found;
}

/** @throws ConflictError unless the workspace is ready and has time left. */
export function assertReady(ws: Workspace, now: Date): void {
  if (ws.status !== "ready") {
    throw new ConflictError("workspace.not_ready", `workspace ${ws.id} is ${ws.status}, not ready`);
  }
  if (Date.parse(ws.expiresAt) <= now.getTime()) {
    throw new ConflictError("workspace.expired", `workspace ${ws.id} expired at ${ws.expiresAt}`);
  }
}

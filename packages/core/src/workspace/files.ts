/** Files of a workspace: uploads into `home/` (code, small inputs) and the listing of `outputs/`. */
import { type Actor, requireRole } from "../actor";
import { sha256Hex } from "../audit/record";
import { ForbiddenError, TooLargeError } from "../errors";
import type { Deps, OutputFile } from "../ports";
import { audited } from "../usecase";
import { assertReady, visibleWorkspace } from "./access";
import { wsEvent } from "./lifecycle";
import { areaPath } from "./paths";

async function ownReadyWorkspace(deps: Deps, actor: Actor, id: string, action: string) {
  const ws = (await visibleWorkspace(deps, actor, id, action)).item;
  if (ws.owner !== actor.sub) {
    throw new ForbiddenError("workspace.not_owner", `only the owner of workspace ${id} can do this`);
  }
  assertReady(ws, deps.clock.now());
  return ws;
}

/** Writes `home/<path>`; the upload's hash and size (never its content) go to the audit trail. */
async function upload(deps: Deps, actor: Actor, workspaceId: string, rawPath: string, bytes: Uint8Array) {
  const action = "workspace.file_uploaded";
  const ctx = { actor, action, target: `workspace/${workspaceId}`, details: { workspaceId } };
  return audited(deps.store, ctx, async () => {
    requireRole(actor, "upload a file", "researcher");
    const path = areaPath(rawPath);
    if (bytes.byteLength > deps.policy.maxUploadBytes) {
      throw new TooLargeError("file.too_large", `uploads are limited to ${deps.policy.maxUploadBytes} bytes per file`);
    }
    const ws = await ownReadyWorkspace(deps, actor, workspaceId, action);
    await deps.runtime.writeHome(workspaceId, path, bytes);
    const result = { path: `home/${path}`, bytes: bytes.byteLength, sha256: sha256Hex(bytes) };
    await deps.store.commit({ writes: [], audit: [wsEvent(actor.sub, action, ws, result)] });
    return result;
  });
}

/** Regular files under `outputs/` (or `home/`), with paths relative to the workspace root. */
async function list(deps: Deps, actor: Actor, workspaceId: string, dir: "outputs" | "home"): Promise<OutputFile[]> {
  const ctx = { actor, action: "workspace.files_listed", target: `workspace/${workspaceId}`, details: { workspaceId } };
  return audited(deps.store, ctx, async () => {
    requireRole(actor, "list files", "researcher");
    await ownReadyWorkspace(deps, actor, workspaceId, ctx.action);
    const files = await deps.runtime.listFiles(workspaceId, dir);
    return files.map((f) => ({ ...f, path: `${dir}/${f.path}` }));
  });
}

export const Files = { upload, list };

/**
 * Keeps a terminated workspace's outputs: before the runtime wipes its plaintext areas, every regular file
 * under `outputs/` is encrypted under the permit key into the object store, where egress can still take it
 * out until the permit key is destroyed.
 */
import { DomainError } from "../errors";
import type { Deps, OutputFile } from "../ports";
import { collect, getDecrypted, objectKeys, putEncrypted } from "./objects";
import type { Workspace } from "./schema";

/**
 * @returns the files archived, and those that could not be (each tried on its own: one odd file does not
 * cost the others); none when the runtime holds nothing or the permit key is gone.
 */
export async function archiveOutputs(
  deps: Pick<Deps, "runtime" | "objects" | "keys">,
  ws: Pick<Workspace, "id" | "permitId">,
): Promise<{ kept: OutputFile[]; failed: number }> {
  if (!(await deps.runtime.exists(ws.id))) return { kept: [], failed: 0 };
  let keys: Awaited<ReturnType<Deps["keys"]["permitKeys"]>>;
  try {
    keys = await deps.keys.permitKeys(ws.permitId);
  } catch (err) {
    if (err instanceof DomainError) return { kept: [], failed: 0 }; // shredded: there is nothing to keep
    throw err;
  }
  const at = objectKeys(ws.permitId, ws.id);
  const files = await deps.runtime.listFiles(ws.id, "outputs");
  const kept: OutputFile[] = [];
  let failed = 0;
  for (const f of files) {
    try {
      await putEncrypted(deps.objects, keys, at.output(f.path), deps.runtime.readOutput(ws.id, f.path));
      kept.push(f);
    } catch {
      failed++;
    }
  }
  return { kept, failed };
}

/** Reads an output of a workspace, live (from the runtime) or archived (decrypted from the object store). */
export async function readArchivedOutput(
  deps: Pick<Deps, "objects" | "keys">,
  ws: Pick<Workspace, "id" | "permitId">,
  path: string,
): Promise<Uint8Array> {
  const keys = await deps.keys.permitKeys(ws.permitId);
  return collect(getDecrypted(deps.objects, keys, objectKeys(ws.permitId, ws.id).output(path)));
}

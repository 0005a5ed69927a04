/**
 * Snapshots: at request time each named output is copied, encrypted under the permit key, into the egress
 * quarantine area; its SHA-256 and size are those of the copy. Checks, review and download read only the
 * snapshot, so changing the file in the workspace afterwards changes nothing.
 */
import { TooLargeError, ValidationError } from "../errors";
import type { Deps, PermitKeys } from "../ports";
import { measured } from "../staging";
import { getDecrypted, objectKeys, putEncrypted } from "../workspace/objects";
import { areaPath } from "../workspace/paths";
import type { Workspace } from "../workspace/schema";

export const egressKeys = (permitId: string, egressId: string) => {
  const base = `permits/${permitId}/egress/${egressId}/`;
  return {
    base,
    snapshot: (index: number) => `${base}snapshot/${index}`,
    release: (index: number) => `${base}release/${index}`,
  };
};

/** `outputs/a/b.csv` → `a/b.csv`, or a 400 naming the file. */
export function outputPath(raw: string, index: number): string {
  const field = `files[${index}]`;
  const normalised = areaPath(raw, field);
  if (!normalised.startsWith("outputs/") || normalised === "outputs") {
    throw new ValidationError("egress.not_an_output", `${raw} is not under outputs/: only outputs can leave`, [
      { path: field, message: "must be a file under outputs/" },
    ]);
  }
  return normalised.slice("outputs/".length);
}

/** Where the file's bytes come from: the live workspace, or the outputs kept when it terminated. */
async function source(
  deps: Pick<Deps, "runtime" | "objects">,
  keys: PermitKeys,
  ws: Workspace,
  rel: string,
  raw: string,
  index: number,
  maxBytes: number,
): Promise<() => AsyncIterable<Uint8Array>> {
  const field = `files[${index}]`;
  if (ws.status === "ready" && (await deps.runtime.exists(ws.id))) {
    const s = await deps.runtime.statOutput(ws.id, rel);
    if (s.kind !== "file") {
      const what = {
        missing: "does not exist",
        directory: "is a directory",
        symlink: "is a symlink",
        other: "is not a regular file",
      }[s.kind];
      throw new ValidationError("egress.bad_file", `${raw} ${what}: name regular files under outputs/`, [
        { path: field, message: what },
      ]);
    }
    if (s.bytes > maxBytes) {
      throw new TooLargeError(
        "egress.file_too_large",
        `${raw} has ${s.bytes} bytes; this permit lets files of at most ${maxBytes} bytes out`,
      );
    }
    return () => deps.runtime.readOutput(ws.id, rel);
  }
  const key = objectKeys(ws.permitId, ws.id).output(rel);
  if ((await deps.objects.list(key)).length === 0) {
    throw new ValidationError("egress.bad_file", `${raw} is not among the outputs kept for workspace ${ws.id}`, [
      { path: field, message: "does not exist" },
    ]);
  }
  return () => getDecrypted(deps.objects, keys, key);
}

/** Counts bytes as they pass and stops the copy once over the limit (the file may have grown since stat). */
async function* capped(src: AsyncIterable<Uint8Array>, raw: string, maxBytes: number): AsyncGenerator<Uint8Array> {
  let n = 0;
  for await (const chunk of src) {
    n += chunk.byteLength;
    if (n > maxBytes) {
      throw new TooLargeError(
        "egress.file_too_large",
        `${raw} is over ${maxBytes} bytes, the most this permit lets out`,
      );
    }
    yield chunk;
  }
}

/**
 * Validates every named file, then snapshots them all. Nothing is kept if any file fails: the caller
 * deletes the request's prefix.
 */
export async function snapshotFiles(
  deps: Pick<Deps, "runtime" | "objects">,
  keys: PermitKeys,
  ws: Workspace,
  egressId: string,
  files: string[],
  maxBytes: number,
): Promise<{ path: string; bytes: number; sha256: string }[]> {
  const rels = files.map((f, i) => outputPath(f, i));
  const dup = rels.findIndex((r, i) => rels.indexOf(r) !== i);
  if (dup >= 0) {
    throw new ValidationError("egress.duplicate_file", `${files[dup]} is named twice`, [
      { path: `files[${dup}]`, message: "named twice" },
    ]);
  }
  const sources = [];
  for (const [i, rel] of rels.entries())
    sources.push(await source(deps, keys, ws, rel, files[i] as string, i, maxBytes));
  const at = egressKeys(ws.permitId, egressId);
  const out = [];
  for (const [i, open] of sources.entries()) {
    const m = measured(capped(open(), files[i] as string, maxBytes));
    await putEncrypted(deps.objects, keys, at.snapshot(i), m.stream);
    out.push({ path: `outputs/${rels[i]}`, ...m.result() });
  }
  return out;
}

export const readSnapshot = (
  deps: Pick<Deps, "objects">,
  keys: PermitKeys,
  permitId: string,
  egressId: string,
  index: number,
) => getDecrypted(deps.objects, keys, egressKeys(permitId, egressId).snapshot(index));

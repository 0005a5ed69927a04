/**
 * Staging: copies exactly the permit's datasets into the workspace's staging area of the object store,
 * pseudonymising identifier columns (HMAC-SHA-256 under the permit's pseudonymisation key) and encrypting
 * every file under the permit's data key. Also records a keyed-hash set of the identifier values seen
 * (originals and pseudonyms) for the egress checks. Streams end to end: memory stays flat.
 */
import { createHmac } from "node:crypto";
import type { Dataset } from "../dataset/schema";
import { ValidationError } from "../errors";
import type { Deps, PermitKeys, StagedFile } from "../ports";
import { IdentifierSet, measured, Pseudonymiser, pseudonymiseCsv } from "../staging";
import { collect, getDecrypted, objectKeys, putEncrypted, putEncryptedBytes } from "./objects";
import { areaPath } from "./paths";
import type { ManifestEntry } from "./schema";

/** The key of the identifier set: derived, so the pseudonymisation key itself is used for one thing only. */
export const detectionKey = (keys: PermitKeys): Uint8Array =>
  createHmac("sha256", keys.pseudonymKey).update("spe identifier-set v1").digest();

export interface Staged {
  manifest: ManifestEntry[];
  /** The decrypted view, opened on demand by the runtime. */
  files: StagedFile[];
  identifiers: number;
}

/**
 * Stages every file of every dataset. On failure the caller removes the staging prefix: no object of a
 * half-staged workspace is kept (and none was ever plaintext).
 */
export async function stageDatasets(
  deps: Pick<Deps, "sources" | "objects" | "keys">,
  ws: { id: string; permitId: string },
  datasets: Dataset[],
): Promise<Staged> {
  const keys = await deps.keys.permitKeys(ws.permitId);
  const at = objectKeys(ws.permitId, ws.id);
  // One pseudonymiser per identifier set: it reports each value the first time it meets it.
  const pseudonymiser = new Pseudonymiser(keys.pseudonymKey);
  const identifiers = new IdentifierSet(detectionKey(keys));
  const manifest: ManifestEntry[] = [];
  for (const ds of datasets) {
    const tabular = ds.format === "csv" || ds.format === "tsv";
    if (ds.identifierColumns.length > 0 && !tabular) {
      throw new ValidationError(
        "staging.cannot_pseudonymise",
        `dataset ${ds.id} declares identifier columns but its format ${ds.format} cannot be pseudonymised`,
      );
    }
    for (const file of await deps.sources.files(ds.source)) {
      const path = `${ds.id}/${areaPath(file.path)}`;
      let body = deps.sources.read(ds.source, file.path);
      if (ds.identifierColumns.length > 0) {
        body = pseudonymiseCsv(body, {
          identifierColumns: ds.identifierColumns,
          pseudonymiser,
          ...(ds.format === "tsv" ? { delimiter: "\t" as const } : {}),
          onIdentifier: (original, pseudonym) => {
            identifiers.add(original);
            identifiers.add(pseudonym);
          },
        });
      }
      const m = measured(body);
      await putEncrypted(deps.objects, keys, at.stagedFile(path), m.stream);
      const { bytes, sha256 } = m.result();
      manifest.push({ dataset: ds.id, path, bytes, sha256 });
    }
  }
  await putEncryptedBytes(deps.objects, keys, at.identifiers, identifiers.toBytes());
  return {
    manifest,
    files: manifest.map((f) => ({ path: f.path, open: () => getDecrypted(deps.objects, keys, at.stagedFile(f.path)) })),
    identifiers: identifiers.count,
  };
}

/** The decrypted view of an already staged workspace (to rebuild `data/` after a node restart). */
export async function stagedFiles(
  deps: Pick<Deps, "objects" | "keys">,
  ws: { id: string; permitId: string; manifest?: ManifestEntry[] },
): Promise<StagedFile[]> {
  const keys = await deps.keys.permitKeys(ws.permitId);
  const at = objectKeys(ws.permitId, ws.id);
  return (ws.manifest ?? []).map((f) => ({
    path: f.path,
    open: () => getDecrypted(deps.objects, keys, at.stagedFile(f.path)),
  }));
}

/** The keyed-hash set recorded when the workspace was staged, or null if there is none. */
export async function loadIdentifierSet(
  deps: Pick<Deps, "objects">,
  keys: PermitKeys,
  ws: { id: string; permitId: string },
): Promise<IdentifierSet | null> {
  const key = objectKeys(ws.permitId, ws.id).identifiers;
  if ((await deps.objects.list(key)).length === 0) return null;
  return IdentifierSet.fromBytes(detectionKey(keys), await collect(getDecrypted(deps.objects, keys, key)));
}

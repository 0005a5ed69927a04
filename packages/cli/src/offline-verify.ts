/**
 * Offline verification of one node's audit chain: opens the data directory's database and the audit
 * signing key read-only and checks them without the server (which may be stopped, or not trusted).
 */
import { existsSync } from "node:fs";
import { verifyLog } from "@spe/core";
import { CliError } from "./errors";
import type { Verification } from "./resources";

/** @throws CliError (exit 2) when the directory holds no database or no audit key. */
export async function verifyDataDir(dataDir: string, publicKeyPem?: string): Promise<Verification> {
  // Loaded on demand: SQLite and the key files are only needed here and by `spe token`.
  const { dataPaths, LocalSigner, loadOrCreateKey, loadPublicKey, SqliteStore, systemClock } = await import(
    "@spe/local"
  );
  const paths = dataPaths(dataDir);
  if (!existsSync(paths.db)) {
    throw new CliError(`no SPE database in ${dataDir} (expected ${paths.db}): give the data directory of a node`);
  }
  let signer: InstanceType<typeof LocalSigner>;
  try {
    signer = new LocalSigner(
      publicKeyPem ? loadPublicKey(publicKeyPem) : loadOrCreateKey(paths.keys, "audit-signing", { readonly: true }),
    );
  } catch (err) {
    throw new CliError(
      `cannot read the audit signing key ${publicKeyPem ?? `in ${paths.keys}`}: ${err instanceof Error ? err.message : err}`,
    );
  }
  let store: InstanceType<typeof SqliteStore>;
  try {
    store = new SqliteStore(paths.db, systemClock, { readonly: true });
  } catch (err) {
    throw new CliError(`cannot open ${paths.db} read-only: ${err instanceof Error ? err.message : err}`);
  }
  try {
    return await verifyLog(store, signer);
  } finally {
    store.close();
  }
}

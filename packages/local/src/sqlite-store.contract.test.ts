/** Runs the shared Store + AuditLog contract (test/contracts/store-contract.ts) against SqliteStore. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeStoreContract } from "../../../test/contracts/store-contract";
import { SqliteStore } from "./sqlite-store";

describeStoreContract("SqliteStore", async ({ clock }) => {
  const dir = mkdtempSync(join(tmpdir(), "spe-store-contract-"));
  const store = new SqliteStore(join(dir, "spe.db"), clock);
  return {
    store,
    close: async () => {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

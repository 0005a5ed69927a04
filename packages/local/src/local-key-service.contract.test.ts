/** Runs the KeyService port's contract suite (test/contracts) on the single-node key service. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describeKeyServiceContract } from "../../../test/contracts/key-service-contract";
import { FileMasterKey, LocalKeyService } from "./local-key-service";

describeKeyServiceContract("LocalKeyService", () => {
  const dir = mkdtempSync(join(tmpdir(), "spe-keys-"));
  const db = new Database(join(dir, "keys.db"));
  db.pragma("journal_mode = WAL");
  const keys = new LocalKeyService(db, new FileMasterKey(join(dir, "keys"), { create: true }));
  return {
    keys,
    cleanup: () => {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

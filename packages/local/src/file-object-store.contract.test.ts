/** Runs the ObjectStore port's contract suite (test/contracts) on the single-node file store. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeObjectStoreContract } from "../../../test/contracts/object-store-contract";
import { FileObjectStore } from "./file-object-store";

describeObjectStoreContract("FileObjectStore", () => {
  const dir = mkdtempSync(join(tmpdir(), "spe-objects-"));
  return { store: new FileObjectStore(dir), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
});

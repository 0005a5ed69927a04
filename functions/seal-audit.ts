/**
 * Seals the audit chain on a schedule: signs the head (count and hash, chained to the previous seal) with the
 * KMS audit key, if it moved since the last seal. The seal lands in the table, and from its stream in the
 * archive.
 */
import { sealHead } from "@spe/core";
import { aws, log } from "./lib/aws";

export async function handler(): Promise<{ sealed: number | null }> {
  const a = aws();
  const seal = await sealHead({ audit: a.store, signer: a.signer, clock: a.deps.clock });
  log({ msg: "seal", n: seal?.n, count: seal?.count });
  return { sealed: seal?.n ?? null };
}

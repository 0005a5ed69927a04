/**
 * Verification of an audit archive copied out of its Object Lock bucket (AWS), without the server or the
 * table: `aws s3 sync s3://<archive bucket> ./audit-archive`, then `spe audit verify --archive ./audit-archive
 * --public-key audit.pem`. The public key is the trust anchor: every seal must verify under it, whatever key
 * id the seal names (KMS names its key by ARN; a copy of the public key has no ARN).
 */
import { createPublicKey, type KeyObject, verify } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ARCHIVE_CHAIN_PREFIX, ARCHIVE_SEALS_PREFIX, assembleArchive, verifyRecords } from "@spe/core";
import { CliError } from "./errors";
import type { Verification } from "./resources";

/** A PEM (`-----BEGIN PUBLIC KEY-----`) or the DER SPKI that `aws kms get-public-key` returns (decoded). */
function readPublicKey(path: string): KeyObject {
  const bytes = readFileSync(path);
  const pem = bytes.toString("latin1").includes("-----BEGIN");
  return pem ? createPublicKey(bytes) : createPublicKey({ key: bytes, format: "der", type: "spki" });
}

function objectsIn(dir: string, suffix: string): { name: string; text: string }[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(suffix))
    .sort()
    .map((f) => ({ name: join(dir, f), text: readFileSync(join(dir, f), "utf8") }));
}

/** @throws CliError (exit 2) when the directory holds no archive or the key cannot be read. */
export async function verifyArchiveDir(dir: string, publicKeyPath: string): Promise<Verification> {
  const batches = objectsIn(join(dir, ARCHIVE_CHAIN_PREFIX), ".ndjson");
  if (batches.length === 0) {
    throw new CliError(
      `no audit archive in ${dir} (expected ${join(dir, ARCHIVE_CHAIN_PREFIX)}*.ndjson): copy the archive bucket there first`,
    );
  }
  let key: KeyObject;
  try {
    key = readPublicKey(publicKeyPath);
  } catch (err) {
    throw new CliError(`cannot read the public key ${publicKeyPath}: ${err instanceof Error ? err.message : err}`);
  }
  const archive = assembleArchive(batches, objectsIn(join(dir, ARCHIVE_SEALS_PREFIX), ".json"));
  if (archive.problems.length > 0) {
    const first = archive.records[0]?.seq ?? 1;
    return { ok: false, count: 0, brokenAt: first, reason: archive.problems.join("; ") };
  }
  const verifier = {
    verify: async (data: string, signature: string) =>
      verify("sha256", Buffer.from(data), key, Buffer.from(signature, "base64")),
  };
  return verifyRecords(archive.records, archive.seals, verifier);
}

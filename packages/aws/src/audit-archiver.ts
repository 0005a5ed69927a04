/**
 * The audit archiver: turns a batch of the table's stream (new images of audit records and seals) into
 * objects of the archive bucket (S3 Object Lock, COMPLIANCE mode: no one, root included, can delete or
 * overwrite a locked version before its retention ends). The format is core's (audit/archive.ts), so
 * `spe audit verify --archive` checks a copy of the bucket with no access to the table.
 * A failed put throws: the Lambda event source retries the batch (redelivered records are harmless: an object
 * is never overwritten, and the verifier accepts byte-identical duplicates). An update or deletion of an audit
 * record or seal (they are append-only) is archived under tamper/ as evidence, with what the stream shows.
 */
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { chainBatchKey, encodeBatch, type Seal, type StoredAuditRecord, sealKey } from "@spe/core";
import { AUDIT_PK, type Item, SEAL_PK, storedRecordOf } from "./dynamo-items";

/** One record of a DynamoDB stream event, as Lambda delivers it (the images are AttributeValue maps). */
export interface StreamRecord {
  eventID?: string;
  eventName?: string;
  dynamodb?: { Keys?: Record<string, unknown>; NewImage?: Record<string, unknown> };
}

/** Where evidence of tampering goes: an update or deletion of an (append-only) audit record or seal. */
export const ARCHIVE_TAMPER_PREFIX = "tamper/";

export interface ArchiveResult {
  records: number;
  seals: number;
  /** Updates or deletions of audit records or seals seen in the batch (each archived under tamper/). */
  tampering: number;
  keys: string[];
}

/** The audit records and seals among the stream records: inserts only (audit items are never updated). */
export function auditOf(batch: StreamRecord[]): { records: StoredAuditRecord[]; seals: Seal[] } {
  const records: StoredAuditRecord[] = [];
  const seals: Seal[] = [];
  for (const r of batch) {
    if (r.eventName !== "INSERT" || !r.dynamodb?.NewImage) continue;
    const image = r.dynamodb.NewImage as Item;
    const pk = image.pk?.S;
    if (pk === AUDIT_PK) records.push(storedRecordOf(image));
    else if (pk === SEAL_PK && image.body?.S) seals.push(JSON.parse(image.body.S) as Seal);
  }
  records.sort((a, b) => a.seq - b.seq);
  return { records, seals };
}

/** The archiver's own client: the archive function needs nothing else of the AWS adapters. */
export const archiveClient = (): S3Client => new S3Client({});

/** Writes the batch's records as one NDJSON object and each seal as its own object. */
export async function archiveBatch(s3: S3Client, bucket: string, batch: StreamRecord[]): Promise<ArchiveResult> {
  const { records, seals } = auditOf(batch);
  const puts: { key: string; body: string; type: string }[] = [];
  const tampering = batch.filter((r) => {
    const pk = (r.dynamodb?.Keys as Item | undefined)?.pk?.S;
    return (r.eventName === "MODIFY" || r.eventName === "REMOVE") && (pk === AUDIT_PK || pk === SEAL_PK);
  });
  for (const [i, r] of tampering.entries()) {
    const keys = r.dynamodb?.Keys as Item;
    puts.push({
      key: `${ARCHIVE_TAMPER_PREFIX}${keys.pk?.S}-${keys.sk?.S}-${r.eventID ?? i}.json`,
      body: JSON.stringify({ eventName: r.eventName, keys, newImage: r.dynamodb?.NewImage ?? null }),
      type: "application/json",
    });
  }
  const first = records[0];
  const last = records.at(-1);
  if (first && last) {
    puts.push({ key: chainBatchKey(first.seq, last.seq), body: encodeBatch(records), type: "application/x-ndjson" });
  }
  for (const seal of seals) puts.push({ key: sealKey(seal.n), body: JSON.stringify(seal), type: "application/json" });
  for (const p of puts) {
    // Object Lock buckets refuse a put without an integrity checksum; the bucket's default retention applies.
    // Never over an object already there (the bucket policy insists): a redelivered batch finds its object
    // archived already (412), which is success.
    try {
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: p.key,
          Body: p.body,
          ContentType: p.type,
          ChecksumAlgorithm: "SHA256",
          IfNoneMatch: "*",
        }),
      );
    } catch (err) {
      const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status !== 412 && (err as Error).name !== "PreconditionFailed") throw err;
    }
  }
  return {
    records: records.length,
    seals: seals.length,
    tampering: tampering.length,
    keys: puts.map((p) => p.key),
  };
}

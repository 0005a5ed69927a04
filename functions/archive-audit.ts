/**
 * The table's stream → the audit archive (S3 Object Lock, COMPLIANCE): every new audit record and seal is
 * written in core's archive format, verifiable from the archive alone (`spe audit verify --archive`).
 * A failure throws, so the event source retries the batch (bisecting it on repeated failure).
 */
import { archiveBatch, archiveClient, type StreamRecord } from "@spe/aws/audit-archiver";
import { config as configOf, log } from "./lib/aws";

const config = configOf();
const s3 = archiveClient();

/** The event source reports partial failures: an empty list is success, a throw retries (and bisects) the batch. */
export async function handler(event: { Records?: StreamRecord[] }): Promise<{ batchItemFailures: [] }> {
  const r = await archiveBatch(s3, config.SPE_BUCKET_AUDIT_ARCHIVE, event.Records ?? []);
  log({ msg: "audit archived", records: r.records, seals: r.seals, objects: r.keys.length });
  if (r.tampering > 0) log({ msg: "audit tampering archived", level: "alarm", events: r.tampering });
  return { batchItemFailures: [] };
}

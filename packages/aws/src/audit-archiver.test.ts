import { PutObjectCommand, S3Client, S3ServiceException } from "@aws-sdk/client-s3";
import { type AuditEvent, assembleArchive, chainRecord, GENESIS_HASH, type Seal, verifyRecords } from "@spe/core";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { archiveBatch, type StreamRecord } from "./audit-archiver";
import { auditItem, sealItem } from "./dynamo-items";

const s3 = new S3Client({ region: "eu-west-1", credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "x" } });
const mock = mockClient(s3);
beforeEach(() => mock.reset());

const ev = (i: number): AuditEvent => ({
  actor: "ana",
  action: "permit.created",
  target: `permit/P-${i}`,
  outcome: "allowed",
  details: { permitId: `P-${i}` },
});
/** Stream records as Lambda delivers them: INSERT images of the items the store writes. */
function stream(n: number): StreamRecord[] {
  let prev = GENESIS_HASH;
  const out: StreamRecord[] = [];
  for (let i = 1; i <= n; i++) {
    const stored = chainRecord(ev(i), i, "2026-11-23T10:00:00.000Z", prev);
    prev = stored.hash;
    out.push({ eventName: "INSERT", dynamodb: { NewImage: auditItem(ev(i), stored) } });
  }
  return out;
}
const seal: Seal = {
  n: 1,
  at: "2026-11-23T11:00:00.000Z",
  count: 3,
  headHash: "a".repeat(64),
  prevSealHash: GENESIS_HASH,
  keyId: "arn:aws:kms:eu-west-1:123456789012:key/k",
  signature: "c2ln",
};

describe("archiveBatch", () => {
  it("writes the batch's records as one NDJSON object and each seal apart, with a checksum for Object Lock", async () => {
    mock.on(PutObjectCommand).resolves({});
    const batch = [
      ...stream(3).reverse(), // order of delivery does not matter
      { eventName: "INSERT", dynamodb: { NewImage: sealItem(seal) } },
      { eventName: "MODIFY", dynamodb: { NewImage: { pk: { S: "audit#head" }, sk: { S: "head" } } } },
      { eventName: "INSERT", dynamodb: { NewImage: { pk: { S: "workspace#ws-1" }, sk: { S: "entity" } } } },
    ];
    const r = await archiveBatch(s3, "spe-audit", batch);
    expect(r).toEqual({
      records: 3,
      seals: 1,
      tampering: 0,
      keys: ["chain/000000000001-000000000003.ndjson", "seals/000000000001.json"],
    });
    const puts = mock.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
    expect(
      puts.every((p) => p.Bucket === "spe-audit" && p.ChecksumAlgorithm === "SHA256" && p.IfNoneMatch === "*"),
    ).toBe(true);
    // What was archived verifies on its own.
    const a = assembleArchive(
      [{ name: "b", text: String(puts[0]?.Body) }],
      [{ name: "s", text: String(puts[1]?.Body) }],
    );
    expect(a.problems).toEqual([]);
    expect(await verifyRecords(a.records, [], { verify: async () => true })).toMatchObject({ ok: true, count: 3 });
    expect(a.seals).toEqual([seal]);
  });

  it("writes nothing for a batch without audit items, and fails the batch (for a retry) when S3 fails", async () => {
    mock.on(PutObjectCommand).resolves({});
    expect(await archiveBatch(s3, "spe-audit", [{ eventName: "REMOVE", dynamodb: {} }])).toEqual({
      records: 0,
      seals: 0,
      tampering: 0,
      keys: [],
    });
    expect(mock.commandCalls(PutObjectCommand)).toHaveLength(0);
    mock
      .on(PutObjectCommand)
      .rejects(new S3ServiceException({ name: "SlowDown", $fault: "server", $metadata: { httpStatusCode: 503 } }));
    await expect(archiveBatch(s3, "spe-audit", stream(2))).rejects.toThrow();
  });

  it("treats an object already archived (a redelivered batch) as done, never overwriting it", async () => {
    mock
      .on(PutObjectCommand)
      .rejects(
        new S3ServiceException({ name: "PreconditionFailed", $fault: "client", $metadata: { httpStatusCode: 412 } }),
      );
    await expect(archiveBatch(s3, "spe-audit", stream(2))).resolves.toMatchObject({ records: 2 });
  });

  it("archives an update or deletion of an audit record or seal as evidence of tampering", async () => {
    mock.on(PutObjectCommand).resolves({});
    const [first] = stream(1);
    const forged = { ...(first?.dynamodb?.NewImage as Record<string, unknown>), body: { S: "{}" } };
    const r = await archiveBatch(s3, "spe-audit", [
      {
        eventID: "e1",
        eventName: "MODIFY",
        dynamodb: { Keys: { pk: { S: "audit" }, sk: { S: "0000000000000001" } }, NewImage: forged },
      },
      {
        eventID: "e2",
        eventName: "REMOVE",
        dynamodb: { Keys: { pk: { S: "audit#seal" }, sk: { S: "0000000000000001" } } },
      },
      { eventID: "e3", eventName: "MODIFY", dynamodb: { Keys: { pk: { S: "audit#head" }, sk: { S: "head" } } } },
    ]);
    expect(r.tampering).toBe(2);
    expect(r.keys).toEqual(["tamper/audit-0000000000000001-e1.json", "tamper/audit#seal-0000000000000001-e2.json"]);
    const bodies = mock.commandCalls(PutObjectCommand).map((c) => JSON.parse(String(c.args[0].input.Body)));
    expect(bodies.map((b) => b.eventName)).toEqual(["MODIFY", "REMOVE"]);
  });
});

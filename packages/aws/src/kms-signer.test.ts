import { createPublicKey, verify } from "node:crypto";
import { CreateKeyCommand } from "@aws-sdk/client-kms";
import {
  type AuditLog,
  chainRecord,
  GENESIS_HASH,
  type Seal,
  sealBody,
  sealHead,
  systemClock,
  verifyRecords,
} from "@spe/core";
import { describe, expect, it } from "vitest";
import { KmsSigner } from "./kms-signer";
import { FakeKms } from "./testing/fake-kms";
import { kmsThrottling } from "./testing/faults";

async function setup() {
  const kms = new FakeKms();
  const { KeyMetadata } = await kms.client.send(
    new CreateKeyCommand({ KeySpec: "ECC_NIST_P256", KeyUsage: "SIGN_VERIFY", Description: "audit seals" }),
  );
  const keyArn = KeyMetadata?.Arn as string;
  return { kms, keyArn, signer: new KmsSigner({ kms: kms.client, keyArn }) };
}

const body = sealBody({
  n: 1,
  at: "2026-01-01T00:00:00.000Z",
  count: 42,
  headHash: "a".repeat(64),
  prevSealHash: "0".repeat(64),
  keyId: "arn:aws:kms:eu-central-1:111122223333:key/x",
});

describe("KmsSigner", () => {
  it("signs with KMS (RAW, ECDSA_SHA_256) and the DER signature verifies offline with the exported public key", async () => {
    const { kms, keyArn, signer } = await setup();
    const signature = await signer.sign(body);
    expect(kms.faults.calls.find((c) => c.command === "Sign")?.input).toMatchObject({
      KeyId: keyArn,
      MessageType: "RAW",
      SigningAlgorithm: "ECDSA_SHA_256",
    });
    const pem = await signer.publicKeyPem();
    expect(pem).toMatch(/^-----BEGIN PUBLIC KEY-----\n[A-Za-z0-9+/=\n]+-----END PUBLIC KEY-----\n$/);
    // Exactly how LocalSigner verifies: node:crypto, SHA-256, DER signature.
    expect(verify("sha256", Buffer.from(body), createPublicKey(pem), Buffer.from(signature, "base64"))).toBe(true);
    expect(verify("sha256", Buffer.from(`${body} `), createPublicKey(pem), Buffer.from(signature, "base64"))).toBe(
      false,
    );
    expect(Buffer.from(signature, "base64")[0]).toBe(0x30); // a DER SEQUENCE, not a raw r||s pair
  });

  it("verifies its own signatures and rejects altered data, other keys and malformed signatures", async () => {
    const { kms, keyArn, signer } = await setup();
    const signature = await signer.sign(body);
    expect(signer.keyId).toBe(keyArn);
    expect(await signer.verify(body, signature, keyArn)).toBe(true);
    expect(await signer.verify(body.replace("42", "41"), signature, keyArn)).toBe(false);
    const before = kms.faults.count("Verify");
    expect(await signer.verify(body, signature, "arn:aws:kms:eu-central-1:111122223333:key/other")).toBe(false);
    expect(await signer.verify(body, "not base64!", keyArn)).toBe(false);
    expect(kms.faults.count("Verify")).toBe(before); // decided without asking KMS
    expect(await signer.verify(body, Buffer.from("garbage").toString("base64"), keyArn)).toBe(false);
  });

  it("seals an audit chain that core verifies, through KMS and offline through the public key", async () => {
    const { signer } = await setup();
    const record = chainRecord(
      { actor: "alice", action: "workspace.launched", target: "workspace/ws-1", outcome: "allowed", details: {} },
      1,
      "2026-01-01T00:00:00.000Z",
      GENESIS_HASH,
    );
    const seals: Seal[] = [];
    const audit: AuditLog = {
      query: async () => ({ items: [], next: null }),
      scan: () => [record],
      head: async () => ({ count: 1, hash: record.hash }),
      appendSeal: async (seal) => {
        seals.push(seal);
      },
      seals: async () => seals,
    };
    expect(await sealHead({ audit, signer, clock: systemClock })).toMatchObject({ n: 1, keyId: signer.keyId });
    expect(await verifyRecords([record], seals, signer)).toMatchObject({ ok: true, count: 1 });
    const pem = createPublicKey(await signer.publicKeyPem());
    const offline = {
      verify: async (data: string, signature: string) =>
        verify("sha256", Buffer.from(data), pem, Buffer.from(signature, "base64")),
    };
    expect(await verifyRecords([record], seals, offline)).toMatchObject({ ok: true });
    const forged = [{ ...(seals[0] as Seal), count: 2 }];
    expect(await verifyRecords([record], forged, signer)).toMatchObject({ ok: false });
  });

  it("lets throttling surface as an error, never as an invalid signature", async () => {
    const { kms, keyArn, signer } = await setup();
    const signature = await signer.sign(body);
    kms.faults.fail("Verify", kmsThrottling);
    await expect(signer.verify(body, signature, keyArn)).rejects.toMatchObject({ name: "ThrottlingException" });
    kms.faults.fail("Sign", kmsThrottling);
    await expect(signer.sign(body)).rejects.toMatchObject({ name: "ThrottlingException" });
  });

  it("refuses what KMS cannot sign raw, and keys that are not P-256 signing keys", async () => {
    const { kms, signer } = await setup();
    const calls = kms.faults.calls.length;
    await expect(signer.sign("x".repeat(4097))).rejects.toThrow(/1 to 4096 bytes/);
    expect(kms.faults.calls.length).toBe(calls);
    const { KeyMetadata } = await kms.client.send(new CreateKeyCommand({}));
    const symmetric = new KmsSigner({ kms: kms.client, keyArn: KeyMetadata?.Arn as string });
    await expect(symmetric.publicKeyPem()).rejects.toThrow();
    expect(
      () => new KmsSigner({ kms: kms.client, keyArn: "arn:aws:kms:eu-central-1:111122223333:alias/audit" }),
    ).toThrow(/not an alias/);
  });
});

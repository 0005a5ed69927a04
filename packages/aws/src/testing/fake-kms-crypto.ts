/**
 * The cryptography of the in-memory KMS (fake-kms.ts), done for real with node:crypto so that tests catch
 * wrong encryption contexts and bad signatures: symmetric ciphertext blobs are AES-256-GCM under the key's
 * material, name their key (as KMS ciphertexts do) and bind the encryption context as additional data;
 * signing keys are ECDSA P-256 with DER signatures, as KMS's ECC_NIST_P256 / ECDSA_SHA_256.
 */
import { createCipheriv, createDecipheriv, type KeyObject, randomBytes, sign, verify } from "node:crypto";

const MAGIC = Buffer.from("FKMS1");
const KEY_ID_BYTES = 36; // a UUID

/** The encryption context as KMS binds it: order-independent. */
const aad = (context: Record<string, string> | undefined) =>
  Buffer.from(
    JSON.stringify(
      Object.entries(context ?? {})
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, v]) => [k, v]),
    ),
  );

export function seal(
  keyId: string,
  material: Buffer,
  plaintext: Uint8Array,
  context?: Record<string, string>,
): Uint8Array {
  const iv = randomBytes(12);
  const c = createCipheriv("aes-256-gcm", material, iv).setAAD(aad(context));
  const body = Buffer.concat([c.update(plaintext), c.final()]);
  return new Uint8Array(Buffer.concat([MAGIC, Buffer.from(keyId.padEnd(KEY_ID_BYTES)), iv, c.getAuthTag(), body]));
}

/** The key a ciphertext blob names, or undefined when it is not a blob of this fake. */
export function blobKeyId(blob: Uint8Array): string | undefined {
  const b = Buffer.from(blob);
  if (b.length < MAGIC.length + KEY_ID_BYTES + 28 || !b.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
  return b
    .subarray(MAGIC.length, MAGIC.length + KEY_ID_BYTES)
    .toString()
    .trim();
}

/** @returns the plaintext, or undefined when the blob or its context does not match (InvalidCiphertext). */
export function open(material: Buffer, blob: Uint8Array, context?: Record<string, string>): Uint8Array | undefined {
  const b = Buffer.from(blob);
  const at = MAGIC.length + KEY_ID_BYTES;
  try {
    const d = createDecipheriv("aes-256-gcm", material, b.subarray(at, at + 12)).setAAD(aad(context));
    d.setAuthTag(b.subarray(at + 12, at + 28));
    return new Uint8Array(Buffer.concat([d.update(b.subarray(at + 28)), d.final()]));
  } catch {
    return undefined;
  }
}

export const signRaw = (privateKey: KeyObject, message: Uint8Array): Uint8Array =>
  new Uint8Array(sign("sha256", message, privateKey));

export const verifyRaw = (publicKey: KeyObject, message: Uint8Array, signature: Uint8Array): boolean => {
  try {
    return verify("sha256", message, publicKey, signature);
  } catch {
    return false;
  }
};

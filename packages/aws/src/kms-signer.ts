/**
 * Signer on KMS: the audit seals are signed by an asymmetric KMS key (ECC_NIST_P256, SIGN_VERIFY) whose
 * private half never leaves KMS. KMS returns ECDSA_SHA_256 signatures DER-encoded, the format LocalSigner
 * produces with node:crypto, so core's seal verification is the same on both deployments. `keyId` is the
 * key's ARN, recorded in every seal.
 *
 * Offline verification: `publicKeyPem()` exports the public key (SPKI PEM); anyone holding it can check
 * a seal with any ECDSA P-256 / SHA-256 implementation, without AWS access
 * (e.g. `crypto.verify("sha256", Buffer.from(sealBody(seal)), pem, Buffer.from(seal.signature, "base64"))`).
 */
import { GetPublicKeyCommand, type KMSClient, SignCommand, VerifyCommand } from "@aws-sdk/client-kms";
import type { Signer } from "@spe/core";
import { isError } from "./sdk-errors";

/** The largest message KMS signs with MessageType RAW; seal bodies are a few hundred bytes. */
const MAX_RAW_BYTES = 4096;
const ALGORITHM = "ECDSA_SHA_256";
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

export interface KmsSignerOptions {
  kms: KMSClient;
  /** The signing key's ARN (the stacks' audit key, SPE_AUDIT_KEY_ARN). */
  keyArn: string;
}

export class KmsSigner implements Signer {
  readonly keyId: string;
  private readonly kms: KMSClient;

  constructor(o: KmsSignerOptions) {
    if (!/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[\w-]+$/.test(o.keyArn)) {
      throw new Error(`keyArn ${JSON.stringify(o.keyArn)} must be the ARN of a KMS key (not an alias)`);
    }
    this.kms = o.kms;
    this.keyId = o.keyArn;
  }

  private message(data: string): Uint8Array {
    const bytes = Buffer.from(data, "utf8");
    if (bytes.byteLength === 0 || bytes.byteLength > MAX_RAW_BYTES) {
      throw new Error(`KMS signs messages of 1 to ${MAX_RAW_BYTES} bytes; this one has ${bytes.byteLength}`);
    }
    return bytes;
  }

  /** @returns the base64 DER ECDSA signature of `data`. */
  async sign(data: string): Promise<string> {
    const { Signature } = await this.kms.send(
      new SignCommand({
        KeyId: this.keyId,
        Message: this.message(data),
        MessageType: "RAW",
        SigningAlgorithm: ALGORITHM,
      }),
    );
    if (!Signature) throw new Error("KMS returned no signature");
    return Buffer.from(Signature).toString("base64");
  }

  /**
   * @returns false for another key's signature, a malformed or invalid one; throws only when KMS cannot
   * answer (throttling, access), so an unverifiable seal is never mistaken for a forged one.
   */
  async verify(data: string, signature: string, keyId: string): Promise<boolean> {
    if (keyId !== this.keyId || !BASE64.test(signature)) return false;
    const bytes = Buffer.from(data, "utf8");
    if (bytes.byteLength === 0 || bytes.byteLength > MAX_RAW_BYTES) return false;
    try {
      const { SignatureValid } = await this.kms.send(
        new VerifyCommand({
          KeyId: this.keyId,
          Message: bytes,
          MessageType: "RAW",
          Signature: Buffer.from(signature, "base64"),
          SigningAlgorithm: ALGORITHM,
        }),
      );
      return SignatureValid === true;
    } catch (err) {
      if (isError(err, "KMSInvalidSignatureException")) return false;
      throw err;
    }
  }

  /**
   * The public key as SPKI PEM, for verifying seals offline.
   * @throws Error when the key is not an ECC_NIST_P256 key that signs with ECDSA_SHA_256.
   */
  async publicKeyPem(): Promise<string> {
    const r = await this.kms.send(new GetPublicKeyCommand({ KeyId: this.keyId }));
    if (r.KeySpec !== "ECC_NIST_P256" || !r.SigningAlgorithms?.includes(ALGORITHM) || !r.PublicKey) {
      throw new Error(`${this.keyId} is not an ECC_NIST_P256 signing key`);
    }
    const b64 = Buffer.from(r.PublicKey).toString("base64");
    const lines = b64.match(/.{1,64}/g) ?? [];
    return `-----BEGIN PUBLIC KEY-----\n${lines.join("\n")}\n-----END PUBLIC KEY-----\n`;
  }
}

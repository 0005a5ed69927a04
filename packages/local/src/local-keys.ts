/**
 * The node's own keys, kept in the data directory (files 0600, directory 0700): the ES256 key that signs
 * local JWTs and the ECDSA P-256 key that signs audit seals. Each is created on first start.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Signer } from "@spe/core";

export interface NodeKey {
  privateKey: KeyObject | null;
  publicKey: KeyObject;
  keyId: string;
}

const keyIdOf = (pub: KeyObject) =>
  createHash("sha256")
    .update(pub.export({ type: "spki", format: "der" }))
    .digest("hex")
    .slice(0, 16);

/** Loads `<dir>/<name>.pem`, creating a fresh P-256 key when absent (unless `readonly`). */
export function loadOrCreateKey(dir: string, name: string, opts: { readonly?: boolean } = {}): NodeKey {
  const path = join(dir, `${name}.pem`);
  const pubPath = join(dir, `${name}.pub.pem`);
  if (opts.readonly) {
    // Verification needs only the public half: never touch the private key (read-only copies, other users).
    if (!existsSync(pubPath)) throw new Error(`no public key ${name}.pub.pem in ${dir}`);
    const publicKey = createPublicKey(readFileSync(pubPath));
    return { privateKey: null, publicKey, keyId: keyIdOf(publicKey) };
  }
  if (!existsSync(path)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    writeFileSync(path, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600, flag: "wx" });
    writeFileSync(pubPath, publicKey.export({ type: "spki", format: "pem" }), { mode: 0o644 });
  }
  chmodSync(path, 0o600);
  const privateKey = createPrivateKey(readFileSync(path));
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, keyId: keyIdOf(publicKey) };
}

/** A public key alone (PEM, SPKI), e.g. a copy of the audit key kept off the node. */
export function loadPublicKey(pemPath: string): NodeKey {
  const publicKey = createPublicKey(readFileSync(pemPath));
  return { privateKey: null, publicKey, keyId: keyIdOf(publicKey) };
}

/** Signs audit seals with the node key. Verification needs only the public half (offline verify). */
export class LocalSigner implements Signer {
  readonly keyId: string;
  constructor(private readonly key: NodeKey) {
    this.keyId = key.keyId;
  }

  async sign(data: string): Promise<string> {
    if (!this.key.privateKey) throw new Error("this signer was opened read-only");
    return sign("sha256", Buffer.from(data), this.key.privateKey).toString("base64");
  }

  async verify(data: string, signature: string, keyId: string): Promise<boolean> {
    if (keyId !== this.keyId) return false;
    return verify("sha256", Buffer.from(data), this.key.publicKey, Buffer.from(signature, "base64"));
  }
}

/**
 * An in-memory KMS behind aws-sdk-client-mock: customer managed keys with their states (Enabled, Disabled,
 * PendingDeletion, then gone), aliases, data keys and decryption bound to the encryption context, grants
 * (idempotent by name), ECDSA P-256 signing keys, and the errors KMS really answers (NotFoundException,
 * AlreadyExistsException, DisabledException, KMSInvalidStateException, InvalidCiphertextException,
 * IncorrectKeyException, KMSInvalidSignatureException). Faults (faults.ts) inject throttling at any call.
 * It also serves as the KMS view of FakeS3, so S3 refuses SSE-KMS with a key that cannot be used.
 */
import { generateKeyPairSync, type KeyObject, randomBytes, randomUUID } from "node:crypto";
import {
  AlreadyExistsException,
  CreateAliasCommand,
  CreateGrantCommand,
  CreateKeyCommand,
  DecryptCommand,
  DeleteAliasCommand,
  DescribeKeyCommand,
  DisabledException,
  GenerateDataKeyCommand,
  GetPublicKeyCommand,
  IncorrectKeyException,
  InvalidArnException,
  InvalidCiphertextException,
  KMSClient,
  KMSInvalidSignatureException,
  KMSInvalidStateException,
  KMSServiceException,
  ListGrantsCommand,
  MalformedPolicyDocumentException,
  NotFoundException,
  RetireGrantCommand,
  RevokeGrantCommand,
  ScheduleKeyDeletionCommand,
  SignCommand,
  TagResourceCommand,
  VerifyCommand,
} from "@aws-sdk/client-kms";
import { mockClient } from "aws-sdk-client-mock";
import { blobKeyId, open, seal, signRaw, verifyRaw } from "./fake-kms-crypto";
import type { KmsView } from "./fake-s3";
import { Faults } from "./faults";

export const FAKE_REGION = "eu-central-1";
export const FAKE_ACCOUNT = "111122223333";
const ARN = `arn:aws:kms:${FAKE_REGION}:${FAKE_ACCOUNT}`;
/** Function roles to name in permit key policies (KmsKeyService's `keyAdmins` and `keyUsers`) in tests. */
export const FAKE_KEY_ADMINS = ["api", "provision"].map((k) => `arn:aws:iam::${FAKE_ACCOUNT}:role/spe-test-fn-${k}`);
export const FAKE_KEY_USERS = [`arn:aws:iam::${FAKE_ACCOUNT}:role/spe-test-fn-task-events`];

export type KeyState = "Enabled" | "Disabled" | "PendingDeletion";

export interface FakeKey {
  keyId: string;
  arn: string;
  spec: string;
  usage: string;
  state: KeyState;
  description: string;
  tags: Record<string, string>;
  /** The key policy given to CreateKey (parsed), or null for KMS's default policy. */
  policy: { Statement: { Sid?: string; Principal?: unknown }[] } | null;
  /** Whether CreateKey bypassed the policy lockout safety check. */
  bypassedLockoutCheck: boolean;
  material: Buffer;
  pair?: { privateKey: KeyObject; publicKey: KeyObject };
  grants: { grantId: string; name?: string; grantee: string; operations: string[] }[];
}

const meta = { $metadata: { httpStatusCode: 400 } };
const copyKey = (k: FakeKey): FakeKey => ({
  ...k,
  tags: { ...k.tags },
  grants: k.grants.map((g) => ({ ...g, operations: [...g.operations] })),
});
const notFound = (what: string) => new NotFoundException({ message: `${what} is not found.`, ...meta });
const validation = (message: string) =>
  new KMSServiceException({ name: "ValidationException", $fault: "client", message, ...meta });

export class FakeKms implements KmsView {
  readonly client: KMSClient;
  readonly faults = new Faults();
  private readonly keyMap = new Map<string, FakeKey>();
  private readonly aliasMap = new Map<string, string>();

  constructor() {
    this.client = new KMSClient({
      region: FAKE_REGION,
      credentials: { accessKeyId: "AKIAFAKEFAKEFAKE", secretAccessKey: "fake" },
    });
    const m = mockClient(this.client);
    m.onAnyCommand().callsFake((input: unknown) => {
      throw new Error(`FakeKms does not implement this command (input ${JSON.stringify(input)})`);
    });
    const on = <I, O>(name: string, fn: (input: I) => O) => {
      return async (input: I) => this.faults.run(name, input, () => fn(input));
    };
    m.on(CreateKeyCommand).callsFake(on("CreateKey", (i) => this.createKey(i)));
    m.on(DescribeKeyCommand).callsFake(on("DescribeKey", (i) => ({ KeyMetadata: this.metadata(this.key(i.KeyId)) })));
    m.on(TagResourceCommand).callsFake(on("TagResource", (i) => this.tagResource(i)));
    m.on(CreateAliasCommand).callsFake(on("CreateAlias", (i) => this.createAlias(i.AliasName, i.TargetKeyId)));
    m.on(DeleteAliasCommand).callsFake(on("DeleteAlias", (i) => this.deleteAlias(i.AliasName)));
    m.on(GenerateDataKeyCommand).callsFake(on("GenerateDataKey", (i) => this.generateDataKey(i)));
    m.on(DecryptCommand).callsFake(on("Decrypt", (i) => this.decrypt(i)));
    m.on(ScheduleKeyDeletionCommand).callsFake(on("ScheduleKeyDeletion", (i) => this.scheduleDeletion(i)));
    m.on(CreateGrantCommand).callsFake(on("CreateGrant", (i) => this.createGrant(i)));
    m.on(ListGrantsCommand).callsFake(on("ListGrants", (i) => this.listGrants(i)));
    m.on(RevokeGrantCommand).callsFake(on("RevokeGrant", (i) => this.removeGrant(i.KeyId, i.GrantId)));
    m.on(RetireGrantCommand).callsFake(on("RetireGrant", (i) => this.removeGrant(i.KeyId, i.GrantId)));
    m.on(SignCommand).callsFake(on("Sign", (i) => this.sign(i)));
    m.on(VerifyCommand).callsFake(on("Verify", (i) => this.verify(i)));
    m.on(GetPublicKeyCommand).callsFake(on("GetPublicKey", (i) => this.publicKey(i.KeyId)));
  }

  // ---- inspection and arrangement, for tests ----

  /** Creates an ECC_NIST_P256 signing key (as the stacks create the audit key) through the client. @returns its ARN */
  async createSigningKey(description: string): Promise<string> {
    const res = await this.client.send(
      new CreateKeyCommand({ KeySpec: "ECC_NIST_P256", KeyUsage: "SIGN_VERIFY", Description: description }),
    );
    return res.KeyMetadata?.Arn as string;
  }

  /** Every key ever created and not yet deleted for good. */
  keys(): FakeKey[] {
    return [...this.keyMap.values()];
  }

  /** Alias name → key id. */
  aliases(): Record<string, string> {
    return Object.fromEntries(this.aliasMap);
  }

  /** The key behind an id, ARN, alias name or alias ARN (KmsView, used by FakeS3). */
  describe(keyIdOrAlias: string): { arn: string; state: string } | undefined {
    const k = this.find(keyIdOrAlias);
    return k ? { arn: k.arn, state: k.state } : undefined;
  }

  /** A copy of every key (grants included) and alias, for `restore`. */
  snapshot(): { keys: FakeKey[]; aliases: [string, string][] } {
    return { keys: this.keys().map(copyKey), aliases: [...this.aliasMap] };
  }

  /** Replaces keys and aliases with a copy of a snapshot's (key material and signing pairs are shared). */
  restore(s: { keys: FakeKey[]; aliases: [string, string][] }): void {
    this.keyMap.clear();
    for (const k of s.keys) this.keyMap.set(k.keyId, copyKey(k));
    this.aliasMap.clear();
    for (const [alias, id] of s.aliases) this.aliasMap.set(alias, id);
  }

  setState(keyIdOrAlias: string, state: KeyState): void {
    this.key(keyIdOrAlias).state = state;
  }

  /** The waiting period ends: keys pending deletion are deleted for good (their aliases too). */
  expirePendingDeletions(): void {
    for (const k of this.keys().filter((k) => k.state === "PendingDeletion")) {
      this.keyMap.delete(k.keyId);
      for (const [alias, id] of this.aliasMap) if (id === k.keyId) this.aliasMap.delete(alias);
    }
  }

  // ---- the commands ----

  private find(ref: string | undefined): FakeKey | undefined {
    if (!ref) return undefined;
    const aliasName = ref.startsWith("alias/")
      ? ref
      : ref.startsWith(`${ARN}:alias/`)
        ? ref.slice(ARN.length + 1)
        : null;
    if (aliasName) return this.keyMap.get(this.aliasMap.get(aliasName) ?? "");
    const id = ref.startsWith(`${ARN}:key/`) ? ref.slice(ARN.length + 5) : ref;
    return this.keyMap.get(id);
  }

  private key(ref: string | undefined): FakeKey {
    const k = this.find(ref);
    if (!k) throw notFound(ref?.includes("alias/") ? `Alias ${ref}` : `Key '${ref}'`);
    return k;
  }

  /** A key for a cryptographic operation: it must be enabled. */
  private usable(ref: string | undefined, usage: string): FakeKey {
    const k = this.key(ref);
    if (k.state === "Disabled") throw new DisabledException({ message: `${k.arn} is disabled.`, ...meta });
    if (k.state !== "Enabled")
      throw new KMSInvalidStateException({ message: `${k.arn} is pending deletion.`, ...meta });
    if (k.usage !== usage) throw validation(`${k.arn} key usage is ${k.usage}, not ${usage}`);
    return k;
  }

  /** Grant APIs take a key id or key ARN, never an alias. */
  private byIdOrArn(ref: string | undefined): FakeKey {
    if (ref?.includes("alias/")) throw new InvalidArnException({ message: "An alias is not valid here", ...meta });
    return this.key(ref);
  }

  private metadata(k: FakeKey) {
    return {
      KeyId: k.keyId,
      Arn: k.arn,
      KeyState: k.state,
      Enabled: k.state === "Enabled",
      KeySpec: k.spec,
      KeyUsage: k.usage,
      Description: k.description,
      KeyManager: "CUSTOMER",
      ...(k.spec === "ECC_NIST_P256" ? { SigningAlgorithms: ["ECDSA_SHA_256"] } : {}),
    };
  }

  /** KMS refuses a policy that is not JSON, has no statement, or a statement without a principal. */
  private parsePolicy(policy: string | undefined): FakeKey["policy"] {
    if (policy === undefined) return null;
    const malformed = (why: string) => new MalformedPolicyDocumentException({ message: why, ...meta });
    if (policy.length > 32_768) throw malformed("The key policy is larger than 32 KB");
    let doc: unknown;
    try {
      doc = JSON.parse(policy);
    } catch {
      throw malformed("The key policy is not valid JSON");
    }
    const statements = (doc as { Statement?: unknown })?.Statement;
    if (!Array.isArray(statements) || statements.length === 0) throw malformed("The key policy has no statement");
    if (statements.some((st) => !st || typeof st !== "object" || !("Principal" in st))) {
      throw malformed("Every key policy statement needs a principal");
    }
    return doc as FakeKey["policy"];
  }

  private createKey(i: CreateKeyCommand["input"]) {
    const policy = this.parsePolicy(i.Policy);
    const keyId = randomUUID();
    const spec = i.KeySpec ?? "SYMMETRIC_DEFAULT";
    const usage = i.KeyUsage ?? "ENCRYPT_DECRYPT";
    if (spec === "ECC_NIST_P256" && usage !== "SIGN_VERIFY") throw validation("ECC_NIST_P256 keys sign and verify");
    const k: FakeKey = {
      keyId,
      arn: `${ARN}:key/${keyId}`,
      spec,
      usage,
      state: "Enabled",
      description: i.Description ?? "",
      tags: Object.fromEntries((i.Tags ?? []).map((t) => [t.TagKey ?? "", t.TagValue ?? ""])),
      policy,
      bypassedLockoutCheck: i.BypassPolicyLockoutSafetyCheck === true,
      material: randomBytes(32),
      ...(spec === "ECC_NIST_P256" ? { pair: generateKeyPairSync("ec", { namedCurve: "P-256" }) } : {}),
      grants: [],
    };
    this.keyMap.set(keyId, k);
    return { KeyMetadata: this.metadata(k) };
  }

  private createAlias(name: string | undefined, target: string | undefined) {
    if (!name?.startsWith("alias/") || name.startsWith("alias/aws/") || !/^[\w/-]{7,256}$/.test(name)) {
      throw validation(`Alias ${name} is not a valid customer alias name`);
    }
    if (this.aliasMap.has(name))
      throw new AlreadyExistsException({ message: `An alias with the name ${ARN}:${name} already exists`, ...meta });
    const k = this.byIdOrArn(target);
    if (k.state === "PendingDeletion")
      throw new KMSInvalidStateException({ message: `${k.arn} is pending deletion.`, ...meta });
    this.aliasMap.set(name, k.keyId);
    return {};
  }

  private tagResource(i: TagResourceCommand["input"]) {
    const k = this.byIdOrArn(i.KeyId);
    if (k.state === "PendingDeletion")
      throw new KMSInvalidStateException({ message: `${k.arn} is pending deletion.`, ...meta });
    for (const t of i.Tags ?? []) {
      if (!t.TagKey || t.TagKey.startsWith("aws:") || t.TagValue === undefined) throw validation("Invalid tag");
      k.tags[t.TagKey] = t.TagValue;
    }
    return {};
  }

  private deleteAlias(name: string | undefined) {
    if (!name || !this.aliasMap.delete(name)) throw notFound(`Alias ${ARN}:${name}`);
    return {};
  }

  private generateDataKey(i: GenerateDataKeyCommand["input"]) {
    const k = this.usable(i.KeyId, "ENCRYPT_DECRYPT");
    const bytes = i.KeySpec === "AES_256" ? 32 : i.KeySpec === "AES_128" ? 16 : (i.NumberOfBytes ?? 0);
    if (bytes < 1 || bytes > 1024) throw validation("Specify KeySpec or NumberOfBytes (1-1024)");
    const plaintext = new Uint8Array(randomBytes(bytes));
    return {
      KeyId: k.arn,
      Plaintext: plaintext,
      CiphertextBlob: seal(k.keyId, k.material, plaintext, i.EncryptionContext),
    };
  }

  private decrypt(i: DecryptCommand["input"]) {
    const named = i.CiphertextBlob ? blobKeyId(i.CiphertextBlob) : undefined;
    if (!named) throw new InvalidCiphertextException({ message: "", ...meta });
    if (i.KeyId && !this.find(i.KeyId)) throw notFound(`Key '${i.KeyId}'`);
    if (i.KeyId && this.find(i.KeyId)?.keyId !== named) {
      throw new IncorrectKeyException({
        message: "The key ID in the request does not identify the key that encrypted the ciphertext.",
        ...meta,
      });
    }
    const k = this.usable(named, "ENCRYPT_DECRYPT");
    const plaintext = open(k.material, i.CiphertextBlob as Uint8Array, i.EncryptionContext);
    if (!plaintext) throw new InvalidCiphertextException({ message: "", ...meta });
    return { KeyId: k.arn, Plaintext: plaintext, EncryptionAlgorithm: "SYMMETRIC_DEFAULT" };
  }

  private scheduleDeletion(i: ScheduleKeyDeletionCommand["input"]) {
    const days = i.PendingWindowInDays ?? 30;
    if (days < 7 || days > 30) throw validation("PendingWindowInDays must be between 7 and 30");
    const k = this.byIdOrArn(i.KeyId);
    if (k.state === "PendingDeletion")
      throw new KMSInvalidStateException({ message: `${k.arn} is pending deletion.`, ...meta });
    k.state = "PendingDeletion";
    return {
      KeyId: k.arn,
      KeyState: "PendingDeletion",
      PendingWindowInDays: days,
      DeletionDate: new Date(Date.now() + days * 86_400_000),
    };
  }

  private createGrant(i: CreateGrantCommand["input"]) {
    const k = this.byIdOrArn(i.KeyId);
    if (k.state === "PendingDeletion")
      throw new KMSInvalidStateException({ message: `${k.arn} is pending deletion.`, ...meta });
    const operations = [...(i.Operations ?? [])].sort();
    const grantee = i.GranteePrincipal ?? "";
    // KMS: a retried CreateGrant with the same name and parameters returns the existing grant.
    const same = k.grants.find(
      (g) => i.Name && g.name === i.Name && g.grantee === grantee && g.operations.join() === operations.join(),
    );
    if (same) return { GrantId: same.grantId, GrantToken: `token-${same.grantId}` };
    const grantId = randomBytes(32).toString("hex");
    k.grants.push({ grantId, ...(i.Name ? { name: i.Name } : {}), grantee, operations });
    return { GrantId: grantId, GrantToken: `token-${grantId}` };
  }

  private listGrants(i: ListGrantsCommand["input"]) {
    const k = this.byIdOrArn(i.KeyId);
    const start = i.Marker ? Number(i.Marker) : 0;
    const limit = Math.min(i.Limit ?? 50, 100);
    const page = k.grants.slice(start, start + limit);
    const truncated = start + limit < k.grants.length;
    return {
      Grants: page.map((g) => ({
        KeyId: k.arn,
        GrantId: g.grantId,
        Name: g.name,
        GranteePrincipal: g.grantee,
        Operations: g.operations,
      })),
      Truncated: truncated,
      ...(truncated ? { NextMarker: String(start + limit) } : {}),
    };
  }

  private removeGrant(keyRef: string | undefined, grantId: string | undefined) {
    const k = this.byIdOrArn(keyRef);
    const at = k.grants.findIndex((g) => g.grantId === grantId);
    if (at < 0) throw notFound(`Grant ${grantId}`);
    k.grants.splice(at, 1);
    return {};
  }

  private signable(i: { KeyId?: string; Message?: Uint8Array; MessageType?: string; SigningAlgorithm?: string }) {
    const k = this.usable(i.KeyId, "SIGN_VERIFY");
    if (i.SigningAlgorithm !== "ECDSA_SHA_256") throw validation(`${i.SigningAlgorithm} is not valid for ${k.spec}`);
    if ((i.MessageType ?? "RAW") !== "RAW") throw validation("FakeKms signs RAW messages only");
    if (!i.Message || i.Message.byteLength > 4096) throw validation("A RAW message has 1 to 4096 bytes");
    return { k, pair: k.pair as NonNullable<FakeKey["pair"]>, message: i.Message };
  }

  private sign(i: SignCommand["input"]) {
    const { k, pair, message } = this.signable(i);
    return { KeyId: k.arn, Signature: signRaw(pair.privateKey, message), SigningAlgorithm: "ECDSA_SHA_256" };
  }

  private verify(i: VerifyCommand["input"]) {
    const { k, pair, message } = this.signable(i);
    if (!i.Signature || !verifyRaw(pair.publicKey, message, i.Signature)) {
      throw new KMSInvalidSignatureException({ message: "", ...meta });
    }
    return { KeyId: k.arn, SignatureValid: true, SigningAlgorithm: "ECDSA_SHA_256" };
  }

  private publicKey(ref: string | undefined) {
    const k = this.key(ref);
    if (!k.pair)
      throw new KMSServiceException({
        name: "UnsupportedOperationException",
        $fault: "client",
        message: "symmetric key",
        ...meta,
      });
    return {
      KeyId: k.arn,
      PublicKey: new Uint8Array(k.pair.publicKey.export({ type: "spki", format: "der" })),
      KeySpec: k.spec,
      KeyUsage: k.usage,
      SigningAlgorithms: ["ECDSA_SHA_256"],
    };
  }
}

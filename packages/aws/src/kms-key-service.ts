/**
 * KeyService on KMS: one customer managed symmetric key per permit (alias `alias/spe-<stage>/permit/<P>`,
 * tagged `spe:permit` and `spe:stage`), under which two data keys are generated, a data-encryption key and
 * a pseudonymisation key, each bound to the permit by its encryption context. Only their KMS ciphertexts
 * are stored (WrappedKeyStore); every `permitKeys` call decrypts them, so the plaintext keys live in memory
 * for one operation. S3 objects of the permit are also SSE-KMS under the same key (`permitKeyAliasArn`).
 *
 * Who may do what with a permit key is in the key's own policy (kms-key-policy.ts), given at creation: the
 * functions' IAM policies grant nothing on keys. Tags are set after creation (TagResource, allowed by that
 * policy), never through CreateKey's `Tags`, which would need kms:TagResource in IAM on every key of the
 * account. The lockout safety check is bypassed on purpose: it requires the creator to be able to rewrite
 * the policy (kms:PutKeyPolicy), which the functions must not; the account root in the policy keeps the key
 * manageable by the account's administrators.
 *
 * Crypto-shredding (`destroyPermitKey`): a tombstone replaces the stored blobs, the alias is deleted and
 * the key is scheduled for deletion with the shortest waiting period KMS allows (7 days). From that moment
 * the key is unusable: Decrypt and GenerateDataKey fail (KMSInvalidStateException), so nothing of the
 * permit can be decrypted, here or through S3; after 7 days KMS deletes the key material for good. (An
 * operator could still cancel the deletion within the 7 days: the tombstone keeps this service refusing.)
 *
 * What is retried: the SDK retries throttling inside each call; after that an error surfaces. Nothing is
 * left half-done that a retry cannot finish: a key that could not be tagged or aliased is scheduled for
 * deletion at once, and destruction is idempotent, step by step (the sweeper retries it).
 */
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DeleteAliasCommand,
  DescribeKeyCommand,
  GenerateDataKeyCommand,
  type KeyMetadata,
  type KMSClient,
  ScheduleKeyDeletionCommand,
  TagResourceCommand,
} from "@aws-sdk/client-kms";
import { ConflictError, type KeyService, type PermitKeys, UnavailableError } from "@spe/core";
import { createGrant, revokeGrants } from "./kms-grants";
import { permitKeyPolicy } from "./kms-key-policy";
import { cleanup, isError } from "./sdk-errors";
import type { WrappedKeyStore } from "./wrapped-key-store";

/** KMS's minimum waiting period before a scheduled key deletion. */
export const KEY_DELETION_DAYS = 7;
const RESOURCE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** KMS states that mean the key is going or gone: what it protected can no longer be decrypted. */
export const KEY_GONE = ["KMSInvalidStateException", "DisabledException", "NotFoundException"];

export interface KmsKeyServiceOptions {
  kms: KMSClient;
  store: WrappedKeyStore;
  /** The SST stage: part of every alias, and a tag of every key. */
  stage: string;
  /** Region and account of the keys, to name alias ARNs without a call (S3 needs an ARN for SSE-KMS). */
  region: string;
  accountId: string;
  /** @default "aws" */
  partition?: string;
  /** @default `alias/spe-<stage>/permit/` */
  aliasPrefix?: string;
  /** Role ARNs of the functions that create, alias, grant and destroy permit keys (the key policy's admins). */
  keyAdmins: readonly string[];
  /** Role ARNs of the functions that only use permit keys (Decrypt, GenerateDataKey). @default [] */
  keyUsers?: readonly string[];
  /** IAM path of the per-permit task roles, the only grantees of workspace grants. @default `/spe/<stage>/` */
  taskRolePath?: string;
  now?: () => Date;
}

/**
 * Alias names allow letters, digits, `/`, `_` and `-`; permit ids may also hold `.`: `_` → `__` and
 * `.` → `_-` keep the mapping one-to-one.
 */
const aliasSafe = (id: string) => id.replace(/_/g, "__").replace(/\./g, "_-");

const destroyed = (permitId: string) =>
  new ConflictError(
    "permit.key_destroyed",
    `the data of permit ${permitId} was crypto-shredded: its keys were destroyed`,
  );

export class KmsKeyService implements KeyService {
  private readonly kms: KMSClient;
  private readonly store: WrappedKeyStore;
  private readonly stage: string;
  private readonly arnPrefix: string;
  private readonly aliasPrefix: string;
  /** The policy document of every new permit key (JSON), built and checked once. */
  private readonly keyPolicy: string;
  private readonly granteePrefix: string;
  private readonly now: () => Date;

  constructor(o: KmsKeyServiceOptions) {
    if (!/^[a-z0-9-]{1,24}$/.test(o.stage))
      throw new Error(`stage ${JSON.stringify(o.stage)} must match [a-z0-9-]{1,24}`);
    if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(o.region))
      throw new Error(`region ${JSON.stringify(o.region)} is not an AWS region`);
    if (!/^\d{12}$/.test(o.accountId)) throw new Error("accountId must be the 12 digits of an AWS account");
    this.kms = o.kms;
    this.store = o.store;
    this.stage = o.stage;
    this.arnPrefix = `arn:${o.partition ?? "aws"}:kms:${o.region}:${o.accountId}`;
    this.aliasPrefix = o.aliasPrefix ?? `alias/spe-${o.stage}/permit/`;
    if (!/^alias\/[\w/-]+\/$/.test(this.aliasPrefix) || this.aliasPrefix.startsWith("alias/aws/")) {
      throw new Error(`aliasPrefix ${this.aliasPrefix} must look like alias/<name>/ and not be an AWS alias`);
    }
    const partition = o.partition ?? "aws";
    const taskRolePath = o.taskRolePath ?? `/spe/${o.stage}/`;
    this.keyPolicy = JSON.stringify(permitKeyPolicy({ ...o, partition, keyUsers: o.keyUsers ?? [], taskRolePath }));
    this.granteePrefix = `arn:${partition}:iam::${o.accountId}:role${taskRolePath}`;
    this.now = o.now ?? (() => new Date());
  }

  /** `alias/spe-<stage>/permit/<P>`. @throws Error for an id that is not a resource id. */
  aliasName(permitId: string): string {
    if (!RESOURCE_ID.test(permitId)) throw new Error(`invalid permit id ${JSON.stringify(permitId)}`);
    const name = `${this.aliasPrefix}${aliasSafe(permitId)}`;
    if (name.length > 256) throw new Error(`permit id ${permitId} is too long for a KMS alias`);
    return name;
  }

  /** The permit key's alias ARN, for SSE-KMS (S3ObjectStore's `permitKeyArn`). Makes no call. */
  permitKeyAliasArn(permitId: string): string {
    return `${this.arnPrefix}:${this.aliasName(permitId)}`;
  }

  private async describeAlias(alias: string): Promise<KeyMetadata | null> {
    try {
      const { KeyMetadata: m } = await this.kms.send(new DescribeKeyCommand({ KeyId: alias }));
      return m ?? null;
    } catch (err) {
      if (isError(err, "NotFoundException")) return null;
      throw err;
    }
  }

  /** The ARN of the permit's key: the alias's, or a new key given the alias (one creator wins a race). */
  private async ensureKey(permitId: string): Promise<string> {
    const alias = this.aliasName(permitId);
    const usable = (m: KeyMetadata) => {
      if (m.KeyState !== "Enabled" || !m.Arn) throw destroyed(permitId);
      return m.Arn;
    };
    const existing = await this.describeAlias(alias);
    if (existing) return usable(existing);
    const { KeyMetadata: created } = await this.kms.send(
      new CreateKeyCommand({
        KeySpec: "SYMMETRIC_DEFAULT",
        KeyUsage: "ENCRYPT_DECRYPT",
        Description: `SPE ${this.stage}: keys of permit ${permitId} (destroyed when the permit's data is shredded)`,
        Policy: this.keyPolicy,
        BypassPolicyLockoutSafetyCheck: true,
      }),
    );
    const arn = created?.Arn;
    if (!arn) throw new Error("KMS created a key without an ARN");
    try {
      // Tagged before it is aliased: every key reachable by its alias carries its tags.
      const tags = { "spe:permit": permitId, "spe:stage": this.stage };
      const Tags = Object.entries(tags).map(([TagKey, TagValue]) => ({ TagKey, TagValue }));
      await this.kms.send(new TagResourceCommand({ KeyId: arn, Tags }));
      await this.kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: arn }));
      return arn;
    } catch (err) {
      // Lost the race, or tagging or the alias failed: a key without its alias would never be found again.
      await this.scheduleDeletion(arn).catch(() => {});
      if (!isError(err, "AlreadyExistsException")) throw err;
      const winner = await this.describeAlias(alias);
      if (!winner) throw err;
      return usable(winner);
    }
  }

  private async scheduleDeletion(keyArn: string): Promise<boolean> {
    let scheduled = false;
    await cleanup(async () => {
      await this.kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyArn, PendingWindowInDays: KEY_DELETION_DAYS }));
      scheduled = true;
    }, ["KMSInvalidStateException", "NotFoundException"]);
    return scheduled;
  }

  private context(permitId: string, purpose: "data" | "pseudonym") {
    return { permit: permitId, purpose };
  }

  private async generate(keyArn: string, permitId: string, purpose: "data" | "pseudonym"): Promise<Uint8Array> {
    const { CiphertextBlob } = await this.kms.send(
      new GenerateDataKeyCommand({
        KeyId: keyArn,
        KeySpec: "AES_256",
        EncryptionContext: this.context(permitId, purpose),
      }),
    );
    if (!CiphertextBlob) throw new Error("KMS generated a data key without its ciphertext");
    return CiphertextBlob;
  }

  async createPermitKey(permitId: string): Promise<void> {
    const rec = await this.store.get(permitId);
    if (rec?.destroyedAt) throw destroyed(permitId);
    if (rec?.wrapped) return;
    const keyArn = await this.ensureKey(permitId);
    // Only the ciphertexts are kept: the plaintexts GenerateDataKey also returns are dropped here.
    const [data, pseudonym] = await Promise.all([
      this.generate(keyArn, permitId, "data"),
      this.generate(keyArn, permitId, "pseudonym"),
    ]);
    if (await this.store.putIfAbsent(permitId, { keyArn, data, pseudonym }, this.now().toISOString())) return;
    // Another creator stored its pair first (same key: theirs is as good), or the permit was destroyed meanwhile.
    if ((await this.store.get(permitId))?.destroyedAt) {
      await this.destroyPermitKey(permitId);
      throw destroyed(permitId);
    }
  }

  async permitKeys(permitId: string): Promise<PermitKeys> {
    const rec = await this.store.get(permitId);
    if (rec?.destroyedAt) throw destroyed(permitId);
    if (!rec?.wrapped || !rec.keyArn) {
      throw new UnavailableError("permit.key_missing", `permit ${permitId} has no keys in this deployment`);
    }
    const decrypt = async (blob: Uint8Array, purpose: "data" | "pseudonym") => {
      const { Plaintext } = await this.kms.send(
        new DecryptCommand({
          KeyId: rec.keyArn as string,
          CiphertextBlob: blob,
          EncryptionContext: this.context(permitId, purpose),
        }),
      );
      if (Plaintext?.byteLength !== 32) throw new Error(`KMS returned a ${purpose} key of the wrong size`);
      return Plaintext;
    };
    try {
      const [dataKey, pseudonymKey] = await Promise.all([
        decrypt(rec.wrapped.data, "data"),
        decrypt(rec.wrapped.pseudonym, "pseudonym"),
      ]);
      return { dataKey, pseudonymKey };
    } catch (err) {
      if (isError(err, ...KEY_GONE)) throw destroyed(permitId);
      throw err;
    }
  }

  async destroyPermitKey(permitId: string): Promise<boolean> {
    const alias = this.aliasName(permitId);
    const rec = await this.store.get(permitId);
    const target = await this.describeAlias(alias);
    const arns = new Set([rec?.keyArn, target?.Arn].filter((a): a is string => typeof a === "string"));
    // First the tombstone: from here on this service refuses the keys, whatever fails next.
    const hadBlobs = await this.store.tombstone(permitId, this.now().toISOString(), rec?.keyArn ?? target?.Arn ?? null);
    let aliasDeleted = false;
    if (target) {
      try {
        await this.kms.send(new DeleteAliasCommand({ AliasName: alias }));
        aliasDeleted = true;
      } catch (err) {
        if (!isError(err, "NotFoundException")) throw err;
      }
    }
    let scheduled = false;
    for (const arn of arns) {
      try {
        await this.kms.send(new ScheduleKeyDeletionCommand({ KeyId: arn, PendingWindowInDays: KEY_DELETION_DAYS }));
        scheduled = true;
      } catch (err) {
        // Already pending deletion (a retry), or already deleted: done.
        if (!isError(err, "KMSInvalidStateException", "NotFoundException")) throw err;
      }
    }
    return hadBlobs || aliasDeleted || scheduled;
  }

  private async keyArnOf(permitId: string): Promise<string> {
    const rec = await this.store.get(permitId);
    if (rec?.destroyedAt) throw destroyed(permitId);
    if (!rec?.keyArn)
      throw new UnavailableError("permit.key_missing", `permit ${permitId} has no keys in this deployment`);
    return rec.keyArn;
  }

  /**
   * Lets a workspace's task role use the permit key (Decrypt, GenerateDataKey, DescribeKey: read and
   * write SSE-KMS objects of the permit). Idempotent. See kms-grants.ts.
   * @returns the grant id.
   * @throws DomainError `permit.key_destroyed` or `permit.key_missing`; Error for a grantee that is not a task role.
   */
  async grantWorkspace(permitId: string, workspaceId: string, granteeRoleArn: string): Promise<string> {
    if (!granteeRoleArn.startsWith(this.granteePrefix)) {
      // The key policy would refuse it (AccessDenied): say why instead.
      throw new Error(`grantee ${JSON.stringify(granteeRoleArn)} is not an IAM role ARN under ${this.granteePrefix}`);
    }
    const keyArn = await this.keyArnOf(permitId);
    try {
      return await createGrant(this.kms, keyArn, this.grantName(workspaceId), granteeRoleArn);
    } catch (err) {
      if (isError(err, ...KEY_GONE)) throw destroyed(permitId);
      throw err;
    }
  }

  /** Revokes every grant of the workspace on the permit key. Idempotent. @returns how many were revoked. */
  async retireWorkspaceGrants(permitId: string, workspaceId: string): Promise<number> {
    const rec = await this.store.get(permitId);
    if (!rec?.keyArn) return 0;
    return revokeGrants(this.kms, rec.keyArn, this.grantName(workspaceId));
  }

  private grantName(workspaceId: string): string {
    if (!RESOURCE_ID.test(workspaceId)) throw new Error(`invalid workspace id ${JSON.stringify(workspaceId)}`);
    return `ws-${aliasSafe(workspaceId)}`;
  }
}

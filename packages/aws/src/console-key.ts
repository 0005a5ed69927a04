/**
 * The console's session-cookie key on AWS. Every API Lambda instance must sign and check session cookies with
 * the same key, and no secret may live in the repo or the stack: the first instance generates a data key under
 * the platform KMS key (encryption context `spe:purpose = console-session`) and stores only its ciphertext in
 * the table, with a conditional put so racing cold starts agree on one; every instance then decrypts it. Only
 * the API function may use the platform key with that context (stacks/api.ts), so reading the table alone
 * cannot forge a session.
 */
import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from "@aws-sdk/client-dynamodb";
import { DecryptCommand, GenerateDataKeyCommand, type KMSClient } from "@aws-sdk/client-kms";
import { CONSOLE_KEY_PURPOSE } from "./bucket-layout";

export const CONSOLE_KEY_ITEM = { pk: { S: "console#session-key" }, sk: { S: "key" } } as const;
export const CONSOLE_KEY_CONTEXT = { [CONSOLE_KEY_PURPOSE.name]: CONSOLE_KEY_PURPOSE.value };

export interface ConsoleKeyOptions {
  dynamodb: DynamoDBClient;
  kms: KMSClient;
  tableName: string;
  /** The platform key's ARN. */
  keyArn: string;
}

async function storedCiphertext(o: ConsoleKeyOptions): Promise<Uint8Array | null> {
  const got = await o.dynamodb.send(
    new GetItemCommand({ TableName: o.tableName, Key: { ...CONSOLE_KEY_ITEM }, ConsistentRead: true }),
  );
  return got.Item?.ciphertext?.B ?? null;
}

/** @returns the 32-byte session key shared by every instance of this deployment. */
export async function consoleSessionKey(o: ConsoleKeyOptions): Promise<Uint8Array> {
  let ciphertext = await storedCiphertext(o);
  if (!ciphertext) {
    const made = await o.kms.send(
      new GenerateDataKeyCommand({
        KeyId: o.keyArn,
        KeySpec: "AES_256",
        EncryptionContext: { ...CONSOLE_KEY_CONTEXT },
      }),
    );
    if (!made.CiphertextBlob) throw new Error("KMS returned no ciphertext for the console session key");
    try {
      await o.dynamodb.send(
        new PutItemCommand({
          TableName: o.tableName,
          Item: { ...CONSOLE_KEY_ITEM, ciphertext: { B: made.CiphertextBlob } },
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
      ciphertext = made.CiphertextBlob;
    } catch (err) {
      // Another cold start stored its key first: use that one, so every instance agrees.
      if (
        !(err instanceof ConditionalCheckFailedException || (err as Error).name === "ConditionalCheckFailedException")
      )
        throw err;
      ciphertext = await storedCiphertext(o);
      if (!ciphertext) throw new Error("the console session key vanished while it was being created");
    }
  }
  const plain = await o.kms.send(
    new DecryptCommand({ CiphertextBlob: ciphertext, KeyId: o.keyArn, EncryptionContext: { ...CONSOLE_KEY_CONTEXT } }),
  );
  if (plain.Plaintext?.byteLength !== 32) throw new Error("the console session key did not decrypt to 32 bytes");
  return plain.Plaintext;
}

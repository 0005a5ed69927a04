/**
 * Where KmsKeyService keeps each permit's wrapped keys: the two KMS ciphertext blobs (data and pseudonym
 * keys, useless without the permit's KMS key) and, once destroyed, a tombstone that refuses them for good.
 * The DynamoDB implementation uses the single table (one item `permitkey#<P>` / `#`, outside every GSI);
 * a conditional put makes two racing creators agree on one pair of keys, and the tombstone removes the
 * blobs in the same write, so there is no moment with a tombstone and usable blobs, or neither.
 */
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { isError } from "./sdk-errors";
import { TABLE_KEY } from "./table-schema";

export interface WrappedPermitKeys {
  /** ARN of the permit's KMS key the blobs were generated under. */
  keyArn: string;
  data: Uint8Array;
  pseudonym: Uint8Array;
}

export interface WrappedKeyRecord {
  /** Kept in the tombstone too, so a retried destruction still finds the KMS key after its alias is gone. */
  keyArn: string | null;
  wrapped: { data: Uint8Array; pseudonym: Uint8Array } | null;
  destroyedAt: string | null;
}

export interface WrappedKeyStore {
  get(permitId: string): Promise<WrappedKeyRecord | null>;
  /** Stores the blobs unless the permit has blobs or a tombstone. @returns false when something was there. */
  putIfAbsent(permitId: string, keys: WrappedPermitKeys, createdAt: string): Promise<boolean>;
  /**
   * Writes the tombstone and deletes the blobs, in one write. Idempotent (the first date stays).
   * @returns whether there were blobs to delete.
   */
  tombstone(permitId: string, at: string, keyArn: string | null): Promise<boolean>;
}

/** In memory: tests, and a single process that does not need the keys to outlive it. */
export class MemoryWrappedKeyStore implements WrappedKeyStore {
  readonly items = new Map<string, WrappedKeyRecord>();

  async get(permitId: string): Promise<WrappedKeyRecord | null> {
    const r = this.items.get(permitId);
    return r ? structuredClone(r) : null;
  }

  async putIfAbsent(permitId: string, keys: WrappedPermitKeys): Promise<boolean> {
    if (this.items.has(permitId)) return false;
    this.items.set(permitId, {
      keyArn: keys.keyArn,
      wrapped: { data: keys.data, pseudonym: keys.pseudonym },
      destroyedAt: null,
    });
    return true;
  }

  async tombstone(permitId: string, at: string, keyArn: string | null): Promise<boolean> {
    const r = this.items.get(permitId);
    this.items.set(permitId, { keyArn: r?.keyArn ?? keyArn, wrapped: null, destroyedAt: r?.destroyedAt ?? at });
    return r?.wrapped != null;
  }
}

export interface DynamoWrappedKeyStoreOptions {
  client: DynamoDBClient;
  tableName: string;
}

const key = (permitId: string): Record<string, AttributeValue> => ({
  [TABLE_KEY.partition]: { S: `permitkey#${permitId}` },
  [TABLE_KEY.sort]: { S: "#" },
});

export class DynamoWrappedKeyStore implements WrappedKeyStore {
  private readonly client: DynamoDBClient;
  private readonly table: string;

  constructor(o: DynamoWrappedKeyStoreOptions) {
    if (!/^[a-zA-Z0-9_.-]{3,255}$/.test(o.tableName)) throw new Error(`invalid DynamoDB table name ${o.tableName}`);
    this.client = o.client;
    this.table = o.tableName;
  }

  async get(permitId: string): Promise<WrappedKeyRecord | null> {
    const { Item } = await this.client.send(
      new GetItemCommand({ TableName: this.table, Key: key(permitId), ConsistentRead: true }),
    );
    if (!Item) return null;
    const data = Item.wrappedData?.B;
    const pseudonym = Item.wrappedPseudonym?.B;
    return {
      keyArn: Item.keyArn?.S ?? null,
      wrapped: data && pseudonym ? { data, pseudonym } : null,
      destroyedAt: Item.destroyedAt?.S ?? null,
    };
  }

  async putIfAbsent(permitId: string, keys: WrappedPermitKeys, createdAt: string): Promise<boolean> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: {
            ...key(permitId),
            type: { S: "permitkey" },
            keyArn: { S: keys.keyArn },
            wrappedData: { B: keys.data },
            wrappedPseudonym: { B: keys.pseudonym },
            createdAt: { S: createdAt },
          },
          ConditionExpression: "attribute_not_exists(#pk)",
          ExpressionAttributeNames: { "#pk": TABLE_KEY.partition },
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException || isError(err, "ConditionalCheckFailedException"))
        return false;
      throw err;
    }
  }

  async tombstone(permitId: string, at: string, keyArn: string | null): Promise<boolean> {
    const { Attributes } = await this.client.send(
      new UpdateItemCommand({
        TableName: this.table,
        Key: key(permitId),
        UpdateExpression: `SET #type = :type, destroyedAt = if_not_exists(destroyedAt, :at)${
          keyArn ? ", keyArn = if_not_exists(keyArn, :arn)" : ""
        } REMOVE wrappedData, wrappedPseudonym`,
        ExpressionAttributeNames: { "#type": "type" },
        ExpressionAttributeValues: {
          ":type": { S: "permitkey" },
          ":at": { S: at },
          ...(keyArn ? { ":arn": { S: keyArn } } : {}),
        },
        ReturnValues: "ALL_OLD",
      }),
    );
    return Attributes?.wrappedData?.B !== undefined;
  }
}

/**
 * The single DynamoDB table's key schema, shared by the Store adapter (dynamo-store.ts) and the State stack
 * (stacks/state.ts), so the table that is deployed is the table the adapter expects. No AWS SDK here.
 */
export const TABLE_KEY = { partition: "pk", sort: "sk" } as const;

/** Global secondary indexes (all string keys, projection ALL). */
export const TABLE_GSIS = [
  /** Every entity of a kind, ordered by id: `kind` = the EntityKind, `id` = the entity id. */
  { name: "byKind", partition: "kind", sort: "id" },
  /** Entities under a parent, ordered by id: `parent` = `<kind>#<permitId or workspaceId>`. */
  { name: "byParent", partition: "parent", sort: "id" },
] as const;

/** Epoch-seconds attribute DynamoDB's TTL deletes by (idempotency records, used download grants). */
export const TTL_ATTRIBUTE = "ttl";

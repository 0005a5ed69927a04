/**
 * The single DynamoDB table's key schema, shared by the Store adapter (dynamo-store.ts) and the State stack
 * (stacks/state.ts), so the table that is deployed is the table the adapter expects. No AWS SDK here.
 *
 * Items, by partition key (the Store adapter's layout is in dynamo-items.ts):
 * - `<kind>#<id>` / `entity`: a permit, dataset, workspace, job, egress request or download grant;
 * - `idem#<actor>` / `<key>`: an idempotency record;
 * - `audit` / `<seq, 16 digits>`: one record of the audit chain (append-only);
 * - `audit#head` / `head`: the chain head (seq and hash of the last record);
 * - `audit#seal` / `<n, 16 digits>`: one signed seal.
 * Other adapters that share the table must use another partition key prefix.
 */
export const TABLE_KEY = { partition: "pk", sort: "sk" } as const;

/**
 * Global secondary indexes (all string keys, projection ALL). Each serves entity lists and audit queries;
 * every partition value starts with the entity kind or `audit`, so the two never mix.
 * GSIs are eventually consistent: a list or a filtered audit query may miss a write of the last moment.
 */
export const TABLE_GSIS = [
  /** Entities of a kind (`kind` = the EntityKind); audit records by action (`kind` = `audit#<action>`). */
  { name: "byKind", partition: "kind", sort: "id" },
  /** Entities of a permit (`parent` = `<kind>#<permitId>`); audit records by permit (`audit#<permitId>`). */
  { name: "byParent", partition: "parent", sort: "id" },
  /** Entities of an owner or requester (`ownerKey` = `<kind>#<owner>`); audit records by actor (`audit#<actor>`). */
  { name: "byOwner", partition: "ownerKey", sort: "id" },
  /** Entities of a workspace (`workspaceKey` = `<kind>#<workspaceId>`); audit records by workspace. */
  { name: "byWorkspace", partition: "workspaceKey", sort: "id" },
] as const;

export type TableIndexName = (typeof TABLE_GSIS)[number]["name"];

/** Epoch-seconds attribute DynamoDB's TTL deletes by (idempotency records, when the Store is told to expire them). */
export const TTL_ATTRIBUTE = "ttl";

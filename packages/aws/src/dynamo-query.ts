/**
 * Reading pages out of DynamoDB: the Query loop that fills a page although `Limit` applies before the
 * FilterExpression, and the opaque cursors (validated: a forged or damaged cursor is a 400, not a 500).
 */
import { type DynamoDBClient, QueryCommand, type QueryCommandInput } from "@aws-sdk/client-dynamodb";
import { decodeCursor, encodeCursor, ValidationError } from "@spe/core";
import { type Item, isKeyable } from "./dynamo-items";
import { type RetryPolicy, readWithRetry } from "./dynamo-retry";

/** Items read per Query call when a filter may discard most of them. */
export const FILTERED_BATCH = 200;
/** Largest page a caller may ask for. */
export const MAX_PAGE = 1000;

/** What reading needs: the client, the retry policy, and how much to read per call when filtering. */
export interface Reader {
  client: DynamoDBClient;
  retry: RetryPolicy;
  /** Items read per Query call when a FilterExpression may discard most of them. */
  filteredBatch: number;
}

/**
 * Runs the query page after page until `want` items passed its filter or the index is exhausted.
 * @returns the matching items in index order (possibly more than `want`).
 */
export async function collect(reader: Reader, input: QueryCommandInput, want: number): Promise<Item[]> {
  const out: Item[] = [];
  let start: Item | undefined;
  do {
    const Limit = Math.min(MAX_PAGE, input.FilterExpression ? reader.filteredBatch : want - out.length);
    const res = await readWithRetry(reader.retry, () =>
      reader.client.send(new QueryCommand({ ...input, Limit, ...(start ? { ExclusiveStartKey: start } : {}) })),
    );
    out.push(...(res.Items ?? []));
    start = res.LastEvaluatedKey;
  } while (start && out.length < want);
  return out;
}

export function assertLimit(limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_PAGE) {
    throw new ValidationError("page.invalid_limit", `limit must be an integer from 1 to ${MAX_PAGE}`, [
      { path: "limit", message: `must be an integer from 1 to ${MAX_PAGE}` },
    ]);
  }
}

const invalidCursor = () =>
  new ValidationError("page.invalid_cursor", "the cursor is not one this service returned", [
    { path: "cursor", message: "use the `next` value of the previous page, unchanged" },
  ]);

/** Decodes a cursor and checks that it is exactly what `encodeCursor` made of an acceptable value. */
function decodeStrict(cursor: string, accept: (value: string) => boolean): string {
  if (!/^[A-Za-z0-9_-]{1,1024}$/.test(cursor)) throw invalidCursor();
  const value = decodeCursor(cursor) as string;
  if (encodeCursor(value) !== cursor || !accept(value)) throw invalidCursor();
  return value;
}

/** The id a list page starts after (the same cursor format as SqliteStore's). */
export const idCursor = {
  encode: (id: string): string => encodeCursor(id),
  decode: (cursor: string | undefined): string | undefined =>
    cursor === undefined ? undefined : decodeStrict(cursor, isKeyable),
};

/** The seq an audit page starts after (the same cursor format as SqliteStore's). */
export const seqCursor = {
  encode: (seq: number): string => encodeCursor(String(seq)),
  decode: (cursor: string | undefined): number =>
    cursor === undefined ? 0 : Number(decodeStrict(cursor, (v) => /^[1-9][0-9]{0,15}$/.test(v))),
};

/**
 * Builds `#k0 = :k1 AND ...` expressions with their name and value maps; the prefix keeps the placeholders
 * of a key condition and a filter of the same query apart.
 */
export class Expression {
  readonly names: Record<string, string> = {};
  readonly values: Item = {};
  private readonly clauses: string[] = [];
  private n = 0;

  constructor(private readonly prefix: "k" | "f") {}

  name(attr: string): string {
    const key = `#${this.prefix}${this.n++}`;
    this.names[key] = attr;
    return key;
  }

  value(v: Item[string]): string {
    const key = `:${this.prefix}${this.n++}`;
    this.values[key] = v;
    return key;
  }

  add(clause: string): this {
    this.clauses.push(clause);
    return this;
  }

  eq(attr: string, value: string): this {
    return this.add(`${this.name(attr)} = ${this.value({ S: value })}`);
  }

  get expression(): string | undefined {
    return this.clauses.length > 0 ? this.clauses.join(" AND ") : undefined;
  }
}

/** A Query input from a key condition and an optional filter (their names and values merged). */
export function queryInput(
  tableName: string,
  indexName: string | undefined,
  key: Expression,
  filter: Expression,
): QueryCommandInput {
  const names = { ...key.names, ...filter.names };
  const values = { ...key.values, ...filter.values };
  return {
    TableName: tableName,
    ...(indexName ? { IndexName: indexName } : { ConsistentRead: true }),
    KeyConditionExpression: key.expression,
    ...(filter.expression ? { FilterExpression: filter.expression } : {}),
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
}

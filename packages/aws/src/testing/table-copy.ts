/**
 * Copying a DynamoDB table's items (tests only): every item of a table, read with a consistent Scan, and
 * written into another table with BatchWriteItem, so a test can start many runs from one arranged state
 * (test/aws: a dynalite table per run). Items are copied as stored, GSI attributes included.
 */
import { type AttributeValue, BatchWriteItemCommand, type DynamoDBClient, ScanCommand } from "@aws-sdk/client-dynamodb";

export type Item = Record<string, AttributeValue>;

/** Every item of the table, in no particular order. */
export async function scanItems(client: DynamoDBClient, tableName: string): Promise<Item[]> {
  const items: Item[] = [];
  let start: Item | undefined;
  do {
    const page = await client.send(
      new ScanCommand({ TableName: tableName, ConsistentRead: true, ExclusiveStartKey: start }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

/** Writes the items (25 per request, DynamoDB's limit), retrying what comes back unprocessed. */
export async function putItems(client: DynamoDBClient, tableName: string, items: readonly Item[]): Promise<void> {
  for (let i = 0; i < items.length; i += 25) {
    let batch = items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } }));
    for (let attempt = 0; batch.length > 0; attempt++) {
      if (attempt > 5) throw new Error("the table kept items unprocessed");
      const res = await client.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: batch } }));
      batch = (res.UnprocessedItems?.[tableName] ?? []).flatMap((r) =>
        r.PutRequest?.Item ? [{ PutRequest: { Item: r.PutRequest.Item } }] : [],
      );
    }
  }
}

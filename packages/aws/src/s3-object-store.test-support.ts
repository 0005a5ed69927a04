/** Shared setup of the S3ObjectStore tests: the store over the in-memory S3, and small stream helpers. */
import { objectKeys } from "@spe/core";
import { egressKeys } from "../../../packages/core/src/egress/snapshot";
import { S3ObjectStore } from "./s3-object-store";
import { OBJECT_BUCKETS as B, FakeS3 } from "./testing/fake-s3";

export const MiB = 1024 ** 2;
export const keyArn = (p: string) => `arn:aws:kms:eu-central-1:111122223333:alias/spe-test/permit/${p}`;

export function setup(o: { pageSize?: number; copyObjectMaxBytes?: number } = {}) {
  const fake = new FakeS3(Object.values(B), o.copyObjectMaxBytes ? { copyObjectMaxBytes: o.copyObjectMaxBytes } : {});
  if (o.pageSize) fake.pageSize = o.pageSize;
  const store = new S3ObjectStore({
    s3: fake.client,
    buckets: B,
    permitKeyArn: keyArn,
    partBytes: 5 * MiB,
    ...(o.copyObjectMaxBytes ? { copyObjectMaxBytes: o.copyObjectMaxBytes, copyPartBytes: 5 * MiB } : {}),
  });
  return { fake, store };
}

export async function* chunks(...parts: (Uint8Array | string)[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield typeof p === "string" ? Buffer.from(p) : p;
}

export async function collect(body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const out: Uint8Array[] = [];
  for await (const c of body) out.push(c);
  return Buffer.concat(out);
}

/** Every object version, delete marker and unfinished upload in every bucket. */
export const everything = (fake: FakeS3) =>
  Object.values(B).flatMap((b) => [
    ...fake.versions(b).map((v) => `${b}:${v.key}`),
    ...fake.uploads(b).map((u) => `${b}:upload:${u.key}`),
  ]);

export const ws = objectKeys("pmt-1", "ws-1");
export const eg = egressKeys("pmt-1", "eg-1");

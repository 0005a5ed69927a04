import { randomBytes } from "node:crypto";
import { CreateMultipartUploadCommand, DeleteObjectCommand } from "@aws-sdk/client-s3";
import { objectKeys } from "@spe/core";
import { describe, expect, it } from "vitest";
import { describeObjectStoreContract } from "../../../test/contracts/object-store-contract";
import { S3ObjectStore } from "./s3-object-store";
import { chunks, collect, eg, everything, keyArn, MiB, setup, ws } from "./s3-object-store.test-support";
import { OBJECT_BUCKETS as B, FakeS3 } from "./testing/fake-s3";
import { slowDown } from "./testing/faults";

// Small pages so that every listing in the contract crosses page boundaries.
describeObjectStoreContract("S3ObjectStore (in-memory S3, 2-key pages)", () => setup({ pageSize: 2 }));

describe("S3ObjectStore", () => {
  it("routes each kind of object to its bucket, encrypted under its permit's KMS key with a SHA-256", async () => {
    const { fake, store } = setup();
    await store.put(ws.stagedFile("ds/a.csv"), chunks("a"));
    await store.put(ws.identifiers, chunks("i"));
    await store.put(ws.jobLog("job-1", "stdout"), chunks("l"));
    await store.put(ws.output("r.csv"), chunks("o"));
    await store.put(eg.snapshot(0), chunks("s"));
    await store.put(eg.release(0), chunks("r"));
    await store.put(objectKeys("pmt-2", "ws-9").stagedFile("b.csv"), chunks("b"));
    const keysIn = (b: string) => fake.objects(b).map((o) => o.key);
    expect(keysIn(B.staging)).toEqual([
      ws.identifiers,
      ws.jobLog("job-1", "stdout"),
      ws.stagedFile("ds/a.csv"),
      objectKeys("pmt-2", "ws-9").stagedFile("b.csv"),
    ]);
    expect(keysIn(B.outputs)).toEqual([ws.output("r.csv")]);
    expect(keysIn(B.quarantine)).toEqual([eg.snapshot(0)]);
    expect(keysIn(B.releases)).toEqual([eg.release(0)]);
    for (const b of Object.values(B)) {
      for (const o of fake.objects(b)) {
        const permit = o.key.split("/")[1] as string;
        expect(o.encryption).toEqual({
          ServerSideEncryption: "aws:kms",
          SSEKMSKeyId: keyArn(permit),
          BucketKeyEnabled: true,
        });
        expect(o.checksum).toMatch(/^[A-Za-z0-9+/]{43}=$/);
      }
    }
  });

  it("refuses keys outside permits/<P>/ without calling S3", async () => {
    const { fake, store } = setup();
    for (const bad of ["audit/x", "permits/", "permits/P", "/permits/P/x", "permits/P/../Q/x", "permits/P//x"]) {
      await expect(store.put(bad, chunks("x"))).rejects.toThrow(/permits|invalid object key/);
      await expect(collect(store.get(bad))).rejects.toThrow();
    }
    await expect(store.list("permits/")).rejects.toThrow();
    await expect(store.deletePrefix("")).rejects.toThrow();
    await expect(store.deletePrefix("permits")).rejects.toThrow();
    expect(fake.faults.calls).toEqual([]);
  });

  it("streams big bodies in parts, reading the source at most two parts ahead of S3 (queueSize 1)", async () => {
    const fake = new FakeS3(Object.values(B));
    const store = new S3ObjectStore({
      s3: fake.client,
      buckets: B,
      permitKeyArn: keyArn,
      partBytes: 5 * MiB,
      queueSize: 1,
    });
    let read = 0;
    let sent = 0;
    let maxAhead = 0;
    fake.faults.observe((command, input) => {
      if (command !== "UploadPart") return;
      maxAhead = Math.max(maxAhead, read - sent);
      sent += (input as { Body: Uint8Array }).Body.byteLength;
    });
    async function* body() {
      for (let i = 0; i < 40; i++) {
        read += MiB;
        yield randomBytes(MiB);
      }
    }
    expect(await store.put(ws.stagedFile("big.bin"), body())).toEqual({ bytes: 40 * MiB });
    expect(fake.faults.count("UploadPart")).toBe(8);
    expect(fake.faults.count("PutObject")).toBe(0);
    // Never more than the part being sent, the next one being filled and one chunk: not the 40 MiB body.
    expect(maxAhead).toBeGreaterThanOrEqual(5 * MiB);
    expect(maxAhead).toBeLessThanOrEqual(11 * MiB);
    const created = fake.faults.calls.find((c) => c.command === "CreateMultipartUpload")?.input;
    expect(created).toMatchObject({
      ServerSideEncryption: "aws:kms",
      SSEKMSKeyId: keyArn("pmt-1"),
      ChecksumAlgorithm: "SHA256",
    });
    expect(fake.objects(B.staging)[0]?.bytes).toBe(40 * MiB);
  }, 60_000);

  it("aborts the multipart upload when the body breaks after parts were sent", async () => {
    const { fake, store } = setup();
    async function* breaking() {
      yield randomBytes(6 * MiB);
      yield randomBytes(6 * MiB);
      throw new Error("the job died");
    }
    await expect(store.put(ws.output("partial.bin"), breaking())).rejects.toThrow("the job died");
    expect(fake.faults.count("UploadPart")).toBeGreaterThan(0);
    expect(fake.faults.count("AbortMultipartUpload")).toBeGreaterThan(0);
    expect(fake.faults.count("CompleteMultipartUpload")).toBe(0);
    expect(everything(fake)).toEqual([]);
  }, 30_000);

  describe("when S3 throttles (SlowDown 503) after the SDK's own retries", () => {
    const big = () => chunks(randomBytes(6 * MiB), randomBytes(6 * MiB));
    const cases: [string, () => AsyncGenerator<Uint8Array>, number][] = [
      ["PutObject", () => chunks("small"), 0],
      ["CreateMultipartUpload", big, 0],
      ["UploadPart", big, 1],
      ["CompleteMultipartUpload", big, 0],
    ];
    for (const [command, body, skip] of cases) {
      it(`surfaces the error of ${command} and leaves no object and no upload`, async () => {
        const { fake, store } = setup();
        fake.faults.fail(command, slowDown, { skip });
        await expect(store.put(ws.stagedFile("t.csv"), body())).rejects.toMatchObject({ name: "SlowDown" });
        expect(everything(fake)).toEqual([]);
      }, 30_000);
    }

    it("retries the abort of a failed multipart upload when the abort itself is throttled", async () => {
      const { fake, store } = setup();
      fake.faults.fail("UploadPart", slowDown, { skip: 1 });
      fake.faults.fail("AbortMultipartUpload", slowDown, { times: 2 });
      await expect(store.put(ws.stagedFile("t.csv"), big())).rejects.toMatchObject({ name: "SlowDown" });
      expect(fake.faults.count("AbortMultipartUpload")).toBe(3);
      expect(everything(fake)).toEqual([]);
    }, 30_000);

    it("leaves an upload only when every abort failed, and deletePrefix then aborts it", async () => {
      const { fake, store } = setup();
      fake.faults.fail("UploadPart", slowDown, { skip: 1 });
      fake.faults.fail("AbortMultipartUpload", slowDown, { times: 10 });
      await expect(store.put(ws.stagedFile("t.csv"), big())).rejects.toMatchObject({ name: "SlowDown" });
      expect(fake.objects(B.staging)).toEqual([]);
      expect(fake.uploads(B.staging)).toHaveLength(1);
      fake.faults.clear();
      expect(await store.deletePrefix(ws.staging)).toBe(0);
      expect(everything(fake)).toEqual([]);
    }, 30_000);
  });

  it("fails a get with SlowDown as an error, not as a missing object", async () => {
    const { fake, store } = setup();
    await store.put(ws.output("o.csv"), chunks("o"));
    fake.faults.fail("GetObject", slowDown);
    await expect(collect(store.get(ws.output("o.csv")))).rejects.toMatchObject({ name: "SlowDown" });
    expect((await collect(store.get(ws.output("o.csv")))).toString()).toBe("o");
  });

  describe("deletePrefix on versioned buckets", () => {
    it("removes noncurrent versions, delete markers and unfinished uploads: no byte is left", async () => {
      const { fake, store } = setup({ pageSize: 3 });
      await store.put(ws.output("a.csv"), chunks("v1"));
      await store.put(ws.output("a.csv"), chunks("v2"));
      await store.put(ws.output("b.csv"), chunks("b"));
      await fake.client.send(new DeleteObjectCommand({ Bucket: B.outputs, Key: ws.output("b.csv") }));
      await fake.client.send(new CreateMultipartUploadCommand({ Bucket: B.outputs, Key: ws.output("c.csv") }));
      await store.put(objectKeys("pmt-1", "ws-2").output("keep.csv"), chunks("k"));
      expect(fake.versions(B.outputs, ws.outputs)).toHaveLength(4); // a.csv twice, b.csv and its delete marker
      expect(await store.deletePrefix(ws.outputs)).toBe(1); // only a.csv was a current object
      expect(fake.versions(B.outputs, ws.outputs)).toEqual([]);
      expect(fake.uploads(B.outputs)).toEqual([]);
      expect(fake.objects(B.outputs).map((o) => o.key)).toEqual([objectKeys("pmt-1", "ws-2").output("keep.csv")]);
    });

    it("deletes in batches of at most 1000 versions", async () => {
      const { fake, store } = setup();
      for (let i = 0; i < 1203; i++) fake.seed(B.staging, ws.stagedFile(`f/${String(i).padStart(4, "0")}`), "x");
      expect(await store.deletePrefix(ws.staging)).toBe(1203);
      const batches = fake.faults.calls
        .filter((c) => c.command === "DeleteObjects")
        .map((c) => (c.input as { Delete: { Objects: unknown[] } }).Delete.Objects.length);
      expect(Math.max(...batches)).toBeLessThanOrEqual(1000);
      expect(batches.reduce((s, n) => s + n, 0)).toBe(1203);
      expect(fake.versions(B.staging)).toEqual([]);
    });

    it("fails when S3 refuses some deletions, and a retry finishes the job", async () => {
      const { fake, store } = setup();
      await store.put(ws.stagedFile("a"), chunks("a"));
      await store.put(ws.stagedFile("b"), chunks("b"));
      fake.refuseDelete = (key) => (key.endsWith("/b") ? "AccessDenied" : undefined);
      await expect(store.deletePrefix(ws.staging)).rejects.toThrow(/did not delete 1 of 2 .*AccessDenied/);
      fake.refuseDelete = undefined;
      expect(await store.deletePrefix(ws.staging)).toBe(1);
      expect(everything(fake)).toEqual([]);
    });

    for (const command of ["ListObjectVersions", "DeleteObjects", "ListMultipartUploads", "AbortMultipartUpload"]) {
      it(`${command} throttled: the error surfaces, and the sweeper's retry leaves no byte`, async () => {
        const { fake, store } = setup();
        await store.put(ws.stagedFile("a"), chunks("a"));
        await store.put(ws.stagedFile("a"), chunks("a2"));
        await fake.client.send(new CreateMultipartUploadCommand({ Bucket: B.staging, Key: ws.stagedFile("b") }));
        fake.faults.fail(command, slowDown);
        await expect(store.deletePrefix(ws.staging)).rejects.toMatchObject({ name: "SlowDown" });
        await store.deletePrefix(ws.staging);
        expect(everything(fake)).toEqual([]);
      });
    }

    it("throttled midway through the listing: rejects, and a retry deletes the rest", async () => {
      const { fake, store } = setup({ pageSize: 2 });
      for (const n of ["1", "2", "3", "4", "5"]) await store.put(ws.stagedFile(n), chunks(n));
      fake.faults.fail("ListObjectVersions", slowDown, { skip: 1 });
      await expect(store.deletePrefix(ws.staging)).rejects.toMatchObject({ name: "SlowDown" });
      expect(fake.objects(B.staging)).toHaveLength(3);
      expect(await store.deletePrefix(ws.staging)).toBe(3);
      expect(everything(fake)).toEqual([]);
    });
  });

  it("validates its options", () => {
    const fake = new FakeS3([]);
    const base = { s3: fake.client, buckets: B, permitKeyArn: keyArn };
    expect(() => new S3ObjectStore({ ...base, buckets: { ...B, staging: "Bad_Name" } })).toThrow(/bucket name/);
    expect(() => new S3ObjectStore({ ...base, partBytes: MiB })).toThrow(/5 MiB/);
    expect(() => new S3ObjectStore({ ...base, copyObjectMaxBytes: 6 * 1024 ** 3 })).toThrow(/5 GiB/);
  });
});

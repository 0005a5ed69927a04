import { randomBytes } from "node:crypto";
import { objectKeys } from "@spe/core";
import { describe, expect, it } from "vitest";
import { attachmentDisposition } from "./s3-object-store";
import { chunks, eg, keyArn, MiB, setup, ws } from "./s3-object-store.test-support";
import { OBJECT_BUCKETS as B } from "./testing/fake-s3";
import { slowDown } from "./testing/faults";

describe("S3ObjectStore copy and presigned downloads", () => {
  describe("copy", () => {
    it("copies server-side into the right bucket, re-encrypted, pinned to the source's ETag", async () => {
      const { fake, store } = setup();
      await store.put(ws.output("r.csv"), chunks("result"));
      expect(await store.copy(ws.output("r.csv"), eg.snapshot(0))).toEqual({ bytes: 6 });
      expect(Buffer.from(fake.body(B.quarantine, eg.snapshot(0)) ?? []).toString()).toBe("result");
      const call = fake.faults.calls.find((c) => c.command === "CopyObject")?.input;
      expect(call).toMatchObject({
        Bucket: B.quarantine,
        CopySource: `${B.outputs}/permits/pmt-1/workspaces/ws-1/outputs/r.csv`,
        CopySourceIfMatch: expect.stringMatching(/^".+"$/),
        SSEKMSKeyId: keyArn("pmt-1"),
        ChecksumAlgorithm: "SHA256",
      });
      expect(fake.faults.count("GetObject") + fake.faults.count("PutObject")).toBe(1); // the one put, no data round trip
    });

    it("copies objects above the CopyObject limit in UploadPartCopy parts", async () => {
      const { fake, store } = setup({ copyObjectMaxBytes: 6 * MiB });
      const bytes = randomBytes(12 * MiB + 5);
      await store.put(ws.output("big.bin"), chunks(bytes));
      expect(await store.copy(ws.output("big.bin"), eg.release(0))).toEqual({ bytes: bytes.byteLength });
      expect(fake.faults.count("CopyObject")).toBe(0);
      expect(fake.faults.count("UploadPartCopy")).toBe(3);
      expect(Buffer.from(fake.body(B.releases, eg.release(0)) ?? []).equals(bytes)).toBe(true);
      expect(fake.objects(B.releases)[0]?.encryption.SSEKMSKeyId).toBe(keyArn("pmt-1"));
    }, 30_000);

    it("aborts a part copy that fails, leaving nothing under the target", async () => {
      const { fake, store } = setup({ copyObjectMaxBytes: 6 * MiB });
      await store.put(ws.output("big.bin"), chunks(randomBytes(16 * MiB)));
      fake.faults.fail("UploadPartCopy", slowDown, { skip: 2 });
      await expect(store.copy(ws.output("big.bin"), eg.release(0))).rejects.toMatchObject({ name: "SlowDown" });
      expect(fake.versions(B.releases)).toEqual([]);
      expect(fake.uploads(B.releases)).toEqual([]);
    }, 30_000);

    for (const command of ["HeadObject", "CopyObject"]) {
      it(`${command} throttled: the error surfaces and nothing is written at the target`, async () => {
        const { fake, store } = setup();
        await store.put(ws.output("r.csv"), chunks("result"));
        fake.faults.fail(command, slowDown);
        await expect(store.copy(ws.output("r.csv"), eg.snapshot(0))).rejects.toMatchObject({ name: "SlowDown" });
        expect(fake.versions(B.quarantine)).toEqual([]);
      });
    }

    it("answers NotFoundError for a missing source and refuses to copy across permits", async () => {
      const { fake, store } = setup();
      await expect(store.copy(ws.output("nope"), eg.snapshot(0))).rejects.toMatchObject({ code: "object.not_found" });
      await store.put(ws.output("r.csv"), chunks("r"));
      await expect(store.copy(ws.output("r.csv"), objectKeys("pmt-2", "ws-2").output("r.csv"))).rejects.toThrow(
        /between permits/,
      );
      expect(fake.objects(B.outputs).map((o) => o.key)).toEqual([ws.output("r.csv")]);
    });
  });

  describe("presignGet", () => {
    it("signs a GET of the right bucket and key that downloads as an attachment and expires", async () => {
      const { fake, store } = setup();
      const url = new URL(await store.presignGet(eg.release(0), { ttlSeconds: 900, filename: 'résumé "final".csv' }));
      expect(url.hostname).toBe(`${B.releases}.s3.eu-central-1.amazonaws.com`);
      expect(url.pathname).toBe(`/${eg.release(0)}`);
      expect(url.searchParams.get("X-Amz-Expires")).toBe("900");
      expect(url.searchParams.get("X-Amz-Signature")).toMatch(/^[0-9a-f]{64}$/);
      expect(url.searchParams.get("response-content-disposition")).toBe(
        `attachment; filename="r_sum_ _final_.csv"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%22final%22.csv`,
      );
      expect(url.searchParams.get("response-content-type")).toBe("application/octet-stream");
      expect(fake.faults.calls).toEqual([]); // presigning is local: no request to S3
    });

    it("refuses a lifetime S3 would not honour, and an empty file name", async () => {
      const { store } = setup();
      for (const ttlSeconds of [0, -1, 1.5, 7 * 24 * 3600 + 1]) {
        await expect(store.presignGet(eg.release(0), { ttlSeconds, filename: "a" })).rejects.toThrow(/ttlSeconds/);
      }
      await expect(store.presignGet(eg.release(0), { ttlSeconds: 60, filename: "" })).rejects.toThrow(/filename/);
    });

    it("keeps header-breaking characters out of the file name", () => {
      expect(attachmentDisposition("a\r\nSet-Cookie: x.csv")).toBe(
        `attachment; filename="a__Set-Cookie: x.csv"; filename*=UTF-8''a%0D%0ASet-Cookie%3A%20x.csv`,
      );
      expect(attachmentDisposition("dir/it's (1).csv")).toContain(`filename*=UTF-8''it%27s%20%281%29.csv`);
    });
  });
});

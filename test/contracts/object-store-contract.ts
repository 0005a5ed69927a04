/**
 * The ObjectStore port's contract: what core relies on from every object store (the file store on one
 * node, S3 on AWS). Each adapter's test file calls `describeObjectStoreContract` with a factory; the suite
 * uses the real key layout of core (staging, outputs, egress snapshots and releases of two permits) so
 * adapters that route keys to different places are exercised across all of them.
 */
import { randomBytes } from "node:crypto";
import { type ObjectStore, objectKeys, workspacePrefix } from "@spe/core";
import { afterEach, describe, expect, it } from "vitest";
// Not re-exported by @spe/core's index: the egress key layout is internal to core's egress use cases.
import { egressKeys } from "../../packages/core/src/egress/snapshot";

export interface ObjectStoreSubject {
  store: ObjectStore;
  cleanup?: () => void | Promise<void>;
}

const MiB = 1024 ** 2;

/**
 * Yields the chunks; with `failAfter`, fails after that many chunks as a broken source would (a crashed
 * job, a reset socket).
 */
async function* source(chunks: Uint8Array[], failAfter?: number): AsyncGenerator<Uint8Array> {
  for (const [i, c] of chunks.entries()) {
    if (failAfter === i) break;
    yield c;
  }
  if (failAfter !== undefined) throw new Error("the source broke midway");
}

async function collect(body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const p of body) parts.push(p);
  return Buffer.concat(parts);
}

/** Several chunks of uneven sizes: small, large (more than one multipart part), odd-sized. */
const unevenChunks = () => [randomBytes(1), randomBytes(3 * MiB + 17), randomBytes(4 * MiB), randomBytes(4 * MiB + 1)];

export function describeObjectStoreContract(
  name: string,
  make: () => ObjectStoreSubject | Promise<ObjectStoreSubject>,
): void {
  describe(`ObjectStore contract: ${name}`, () => {
    let subject: ObjectStoreSubject | undefined;
    const open = async () => {
      subject = await make();
      return subject.store;
    };
    afterEach(async () => {
      await subject?.cleanup?.();
      subject = undefined;
    });

    const a = objectKeys("pmt-a", "ws-1");
    const e = egressKeys("pmt-a", "eg-1");
    const other = objectKeys("pmt-b", "ws-2");

    it("returns exactly the bytes that were put, however the body was chunked", async () => {
      const store = await open();
      const chunks = unevenChunks();
      const expected = Buffer.concat(chunks);
      expect(await store.put(a.stagedFile("ds/big.csv"), source(chunks))).toEqual({ bytes: expected.byteLength });
      expect((await collect(store.get(a.stagedFile("ds/big.csv")))).equals(expected)).toBe(true);
      await store.put(e.snapshot(0), source([Buffer.from("snap")]));
      expect((await collect(store.get(e.snapshot(0)))).toString()).toBe("snap");
    }, 60_000);

    it("stores an empty body as an empty object", async () => {
      const store = await open();
      expect(await store.put(a.identifiers, source([]))).toEqual({ bytes: 0 });
      expect((await collect(store.get(a.identifiers))).byteLength).toBe(0);
      expect(await store.list(a.identifiers)).toEqual([{ key: a.identifiers, bytes: 0 }]);
    });

    it("replaces an object put again under the same key", async () => {
      const store = await open();
      await store.put(a.output("r.csv"), source([Buffer.from("first")]));
      await store.put(a.output("r.csv"), source([Buffer.from("second, longer")]));
      expect((await collect(store.get(a.output("r.csv")))).toString()).toBe("second, longer");
      expect(await store.list(a.outputs)).toEqual([{ key: a.output("r.csv"), bytes: 14 }]);
    });

    it("leaves nothing under the key when the body fails midway (small or multipart)", async () => {
      const store = await open();
      for (const [key, chunks, failAfter] of [
        [a.stagedFile("ds/small.csv"), [Buffer.from("a,b\n1,2\n")], 1],
        [a.stagedFile("ds/large.csv"), unevenChunks(), 3],
      ] as const) {
        await expect(store.put(key, source([...chunks], failAfter))).rejects.toThrow("the source broke midway");
        await expect(collect(store.get(key))).rejects.toMatchObject({ code: "object.not_found" });
        expect(await store.list(key)).toEqual([]);
      }
      expect(await store.list(a.staging)).toEqual([]);
    }, 60_000);

    it("keeps the previous object intact when a put over it fails", async () => {
      const store = await open();
      await store.put(a.output("kept.csv"), source([Buffer.from("original")]));
      await expect(
        store.put(a.output("kept.csv"), source([Buffer.from("new bytes"), Buffer.from("more")], 1)),
      ).rejects.toThrow();
      expect((await collect(store.get(a.output("kept.csv")))).toString()).toBe("original");
    });

    it("answers NotFoundError for an object that does not exist", async () => {
      const store = await open();
      await expect(collect(store.get(a.stagedFile("nope.csv")))).rejects.toMatchObject({
        kind: "not_found",
        code: "object.not_found",
      });
      await store.put(a.stagedFile("there.csv"), source([Buffer.from("x")]));
      await store.deletePrefix(a.stagedFile("there.csv"));
      await expect(collect(store.get(a.stagedFile("there.csv")))).rejects.toMatchObject({ code: "object.not_found" });
    });

    it("lists by prefix, with sizes, sorted by key, matching whole path segments only", async () => {
      const store = await open();
      await store.put(a.output("b/deep.csv"), source([Buffer.from("12345")]));
      await store.put(a.output("a.csv"), source([Buffer.from("123")]));
      await store.put(a.output("a.csv2"), source([Buffer.from("1")]));
      await store.put(a.stagedFile("ds/x.csv"), source([Buffer.from("12")]));
      await store.put(other.output("a.csv"), source([Buffer.from("999")]));
      expect(await store.list(a.outputs)).toEqual([
        { key: a.output("a.csv"), bytes: 3 },
        { key: a.output("a.csv2"), bytes: 1 },
        { key: a.output("b/deep.csv"), bytes: 5 },
      ]);
      // A key is a prefix of itself only: `a.csv` does not list `a.csv2`.
      expect(await store.list(a.output("a.csv"))).toEqual([{ key: a.output("a.csv"), bytes: 3 }]);
      expect(await store.list(a.output("b"))).toEqual([{ key: a.output("b/deep.csv"), bytes: 5 }]);
      expect((await store.list("permits/pmt-a/")).map((o) => o.key)).toEqual([
        a.output("a.csv"),
        a.output("a.csv2"),
        a.output("b/deep.csv"),
        a.stagedFile("ds/x.csv"),
      ]);
      expect(await store.list(a.stagedFile("nothing/"))).toEqual([]);
    });

    it("lists and deletes more objects than fit in one page", async () => {
      const store = await open();
      const keys = Array.from({ length: 25 }, (_, i) => a.jobLog(`job-${String(i).padStart(2, "0")}`, "stdout"));
      for (const k of keys) await store.put(k, source([Buffer.from("log")]));
      const jobs = `${workspacePrefix("pmt-a", "ws-1")}jobs/`;
      expect((await store.list(jobs)).map((o) => o.key)).toEqual(keys);
      expect(await store.deletePrefix(jobs)).toBe(25);
      expect(await store.list("permits/pmt-a/")).toEqual([]);
    });

    it("deletes only under the prefix, counts what it deleted, and is idempotent", async () => {
      const store = await open();
      await store.put(a.stagedFile("ds/1.csv"), source([Buffer.from("1")]));
      await store.put(a.stagedFile("ds/2.csv"), source([Buffer.from("2")]));
      await store.put(a.output("keep.csv"), source([Buffer.from("k")]));
      await store.put(`${a.staging.slice(0, -1)}-lookalike/file`, source([Buffer.from("l")]));
      expect(await store.deletePrefix(a.staging)).toBe(2);
      expect(await store.deletePrefix(a.staging)).toBe(0);
      expect((await store.list("permits/pmt-a/")).map((o) => o.key)).toEqual([
        a.output("keep.csv"),
        `${a.staging.slice(0, -1)}-lookalike/file`,
      ]);
    });

    it("deletes everything of a permit across staging, outputs and egress, and nothing of another", async () => {
      const store = await open();
      await store.put(a.stagedFile("ds/1.csv"), source([Buffer.from("1")]));
      await store.put(a.output("o.csv"), source([Buffer.from("o")]));
      await store.put(e.snapshot(0), source([Buffer.from("s")]));
      await store.put(e.release(0), source([Buffer.from("r")]));
      await store.put(a.jobLog("job-1", "stderr"), source([Buffer.from("e")]));
      await store.put(other.stagedFile("ds/1.csv"), source([Buffer.from("theirs")]));
      expect(await store.deletePrefix("permits/pmt-a/")).toBe(5);
      expect(await store.list("permits/pmt-a/")).toEqual([]);
      for (const k of [e.snapshot(0), e.release(0), a.output("o.csv")]) {
        await expect(collect(store.get(k))).rejects.toMatchObject({ code: "object.not_found" });
      }
      expect((await collect(store.get(other.stagedFile("ds/1.csv")))).toString()).toBe("theirs");
    });
  });
}

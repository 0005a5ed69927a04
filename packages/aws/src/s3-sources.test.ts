import { describe, expect, it } from "vitest";
import { s3Sources } from "./s3-sources";
import { FakeS3 } from "./testing/fake-s3";
import { s3Error, slowDown } from "./testing/faults";

const DATA = "spe-datasets";

function setup() {
  // `spe-missing` is allowed but does not exist; `spe-test-staging` exists but is not a dataset bucket.
  const fake = new FakeS3([DATA, "spe-test-staging"]);
  fake.pageSize = 2;
  fake.seed(DATA, "oncology/patients.csv", "id,age\n1,40\n");
  fake.seed(DATA, "oncology/sub/visits.csv", "id,visit\n1,2024\n");
  fake.seed(DATA, "oncology/sub/", ""); // a console "folder"
  fake.seed(DATA, "oncology/b.tsv", "x\ty\n");
  fake.seed(DATA, "oncology-2024/other.csv", "not part of oncology");
  fake.seed(DATA, "single/registry.csv", "a,b\n");
  fake.seed(DATA, "empty/", "");
  fake.seed("spe-test-staging", "permits/P/secret", "controller data");
  return { fake, sources: s3Sources(fake.client, [DATA, "spe-missing"]) };
}

async function text(body: AsyncIterable<Uint8Array>): Promise<string> {
  const parts: Uint8Array[] = [];
  for await (const p of body) parts.push(p);
  return Buffer.concat(parts).toString();
}

describe("s3Sources", () => {
  it("lists a prefix's files as sorted relative paths with sizes, across pages, and nothing beside it", async () => {
    const { sources } = setup();
    const expected = [
      { path: "b.tsv", bytes: 4 },
      { path: "patients.csv", bytes: 12 },
      { path: "sub/visits.csv", bytes: 16 },
    ];
    expect(await sources.files(`s3://${DATA}/oncology`)).toEqual(expected);
    expect(await sources.files(`s3://${DATA}/oncology/`)).toEqual(expected);
  });

  it("treats a prefix naming one object as a one-file source", async () => {
    const { sources } = setup();
    const src = `s3://${DATA}/single/registry.csv`;
    expect(await sources.check(src)).toBeNull();
    expect(await sources.files(src)).toEqual([{ path: "registry.csv", bytes: 4 }]);
    expect(await text(sources.read(src, "registry.csv"))).toBe("a,b\n");
  });

  it("streams a file of the source", async () => {
    const { sources } = setup();
    expect(await text(sources.read(`s3://${DATA}/oncology`, "sub/visits.csv"))).toBe("id,visit\n1,2024\n");
  });

  it("accepts a readable, non-empty source", async () => {
    const { fake, sources } = setup();
    expect(await sources.check(`s3://${DATA}/oncology`)).toBeNull();
    // It read one byte of a file, proving s3:GetObject (and kms:Decrypt), not only s3:ListBucket.
    expect(fake.faults.calls.find((c) => c.command === "GetObject")?.input).toMatchObject({ Range: "bytes=0-0" });
  });

  it("refuses other schemes and buckets outside the allow-list, without calling S3", async () => {
    const { fake, sources } = setup();
    expect(await sources.check("file:///etc")).toMatch(/s3:\/\/bucket\/prefix sources only/);
    expect(await sources.check("https://example.org/x")).toMatch(/s3:\/\/bucket\/prefix/);
    expect(await sources.check("s3://spe-test-staging/permits/P")).toMatch(/not a dataset bucket/);
    expect(await sources.check(`s3://${DATA}/a/../b`)).toMatch(/plain names/);
    await expect(sources.files("s3://spe-test-staging/permits/P")).rejects.toThrow(/not a dataset bucket/);
    await expect(text(sources.read("s3://spe-test-staging/permits", "P/secret"))).rejects.toThrow(
      /not a dataset bucket/,
    );
    await expect(text(sources.read(`s3://${DATA}/oncology`, "../oncology-2024/other.csv"))).rejects.toThrow(
      /not part of the dataset/,
    );
    expect(fake.faults.calls).toEqual([]);
  });

  it("gives reasons, without data, for empty, missing and unreadable sources", async () => {
    const { fake, sources } = setup();
    expect(await sources.check(`s3://${DATA}/empty`)).toBe(`s3://${DATA}/empty holds no objects`);
    expect(await sources.check(`s3://${DATA}/nothing-here`)).toMatch(/holds no objects/);
    expect(await sources.check("s3://spe-missing/x")).toMatch(/bucket that does not exist/);
    fake.faults.fail("ListObjectsV2", () => s3Error("AccessDenied", 403, "Access Denied"));
    expect(await sources.check(`s3://${DATA}/oncology`)).toMatch(/access denied/);
    fake.faults.fail("GetObject", () => s3Error("KMS.DisabledException", 400, "key disabled"));
    expect(await sources.check(`s3://${DATA}/oncology`)).toMatch(/disabled KMS key/);
  });

  it("refuses a source whose keys are not plain relative paths", async () => {
    const { fake, sources } = setup();
    fake.seed(DATA, "tricky/a//b.csv", "x");
    expect(await sources.check(`s3://${DATA}/tricky`)).toMatch(/not plain relative paths/);
    await expect(sources.files(`s3://${DATA}/tricky`)).rejects.toThrow(/not plain relative paths/);
  });

  it("rethrows throttling instead of calling the source unusable", async () => {
    const { fake, sources } = setup();
    fake.faults.fail("ListObjectsV2", slowDown);
    await expect(sources.check(`s3://${DATA}/oncology`)).rejects.toMatchObject({ name: "SlowDown" });
    fake.faults.fail("ListObjectsV2", slowDown, { skip: 1 });
    await expect(sources.files(`s3://${DATA}/oncology`)).rejects.toMatchObject({ name: "SlowDown" });
  });
});

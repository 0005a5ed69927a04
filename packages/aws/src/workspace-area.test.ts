import { createHash } from "node:crypto";
import { TooLargeError, ValidationError } from "@spe/core";
import { describe, expect, it } from "vitest";
import { testRuntime } from "./ecs-runtime.test-support";
import { slowDown } from "./testing/faults";
import { checkAreaPath, MAX_AREA_ENTRIES } from "./workspace-area";

const P = "p-onc";
const W = "ws-01abc";
const PREFIX = `permits/${P}/workspaces/${W}/`;
const hex = (s: string | Uint8Array) => createHash("sha256").update(s).digest("hex");

function ready() {
  const t = testRuntime();
  t.workspaces.set(W, P);
  return t;
}

async function collect(it: AsyncIterable<Uint8Array>): Promise<string> {
  const parts: Uint8Array[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts).toString();
}

describe("checkAreaPath", () => {
  it.each([
    ["../x", "'..'"],
    ["a/../../etc/passwd", "'..'"],
    ["/etc/passwd", "absolute"],
    ["a//b", "empty"],
    ["./a", "empty or '.'"],
    ["a/", "empty"],
    ["", "empty"],
    ["a\nb", "control"],
    ["a\\b", "backslash"],
  ])("refuses %j as file.path_escape", (path, why) => {
    expect(() => checkAreaPath(path)).toThrow(ValidationError);
    expect(() => checkAreaPath(path)).toThrow(why);
    try {
      checkAreaPath(path);
    } catch (err) {
      expect((err as ValidationError).code).toBe("file.path_escape");
    }
  });

  it("accepts normalised relative paths, names with spaces and dots included", () => {
    expect(checkAreaPath("analysis/run 1/table..csv")).toBe("analysis/run 1/table..csv");
  });
});

describe("EcsRuntime.writeHome", () => {
  it("writes under home/, encrypted under the permit key, with its SHA-256 checked by S3 and kept as metadata", async () => {
    const { runtime, s3, keys } = ready();
    await runtime.writeHome(W, "src/analyse.py", Buffer.from("print(42)\n"));
    const o = s3.current(`${PREFIX}home/src/analyse.py`)!;
    expect(o.body!.toString()).toBe("print(42)\n");
    expect(o.kmsKeyId).toBe(keys.permitKeyAliasArn(P));
    expect(o.bucketKey).toBe(true);
    expect(o.metadata.sha256).toBe(hex("print(42)\n"));
    expect(o.checksumSha256).toBe(createHash("sha256").update("print(42)\n").digest("base64"));
  });

  it.each(["../escape.py", "/abs.py", "a//b.py", "./a.py"])("refuses %j and writes nothing", async (path) => {
    const { runtime, s3 } = ready();
    await expect(runtime.writeHome(W, path, Buffer.from("x"))).rejects.toMatchObject({ code: "file.path_escape" });
    expect(s3.faults.count("PutObject")).toBe(0);
    expect(s3.allVersions()).toEqual([]);
  });

  it("refuses a path a directory has, or one that passes through a file, as a file system would", async () => {
    const { runtime, s3 } = ready();
    s3.seed(`${PREFIX}home/lib/util.py`, "x");
    s3.seed(`${PREFIX}home/notes.txt`, "x");
    await expect(runtime.writeHome(W, "lib", Buffer.from("x"))).rejects.toThrow("a directory has that name");
    await expect(runtime.writeHome(W, "notes.txt/a.py", Buffer.from("x"))).rejects.toThrow("a file is in the way");
    expect(s3.faults.count("PutObject")).toBe(0);
  });

  it("refuses a path whose key would pass S3's 1024 bytes, instead of failing in S3", async () => {
    const { runtime, s3 } = ready();
    const long = Array.from({ length: 5 }, () => "d".repeat(200)).join("/"); // valid, 1004 characters
    await expect(runtime.writeHome(W, long, Buffer.from("x"))).rejects.toThrow("the path is too long to store");
    expect(s3.faults.count("PutObject")).toBe(0);
  });

  it("retries a throttled PutObject (SlowDown)", async () => {
    const { runtime, s3 } = ready();
    s3.faults.fail("PutObject", slowDown, { times: 3 });
    await runtime.writeHome(W, "a.py", Buffer.from("x"));
    expect(s3.faults.count("PutObject")).toBe(4);
    expect(s3.text(`${PREFIX}home/a.py`)).toBe("x");
  });
});

describe("EcsRuntime.listFiles, statOutput, readOutput", () => {
  it("lists the area's files, sorted, with sizes and SHA-256 (computed for an object without metadata)", async () => {
    const { runtime, s3 } = ready();
    s3.pageSize = 2;
    s3.seed(`${PREFIX}outputs/b.csv`, "bb");
    s3.seed(`${PREFIX}outputs/a/1.csv`, "a");
    s3.seed(`${PREFIX}outputs/legacy.txt`, "no metadata", {});
    s3.seed(`${PREFIX}outputs/dir/`, ""); // a console-made "folder": not a file
    s3.seed(`${PREFIX}home/h.py`, "h");
    expect(await runtime.listFiles(W, "outputs")).toEqual([
      { path: "a/1.csv", bytes: 1, sha256: hex("a") },
      { path: "b.csv", bytes: 2, sha256: hex("bb") },
      { path: "legacy.txt", bytes: 11, sha256: hex("no metadata") },
    ]);
    expect(await runtime.listFiles(W, "home")).toEqual([{ path: "h.py", bytes: 1, sha256: hex("h") }]);
    expect(await runtime.listFiles("ws-unknown", "home")).toEqual([]);
  });

  it(`refuses to list more than ${MAX_AREA_ENTRIES} entries, as on one node`, async () => {
    const { runtime, s3 } = ready();
    for (let i = 0; i <= MAX_AREA_ENTRIES; i++) s3.seed(`${PREFIX}home/venv/f${i}`, "", {});
    await expect(runtime.listFiles(W, "home")).rejects.toBeInstanceOf(TooLargeError);
    expect(s3.faults.count("HeadObject")).toBe(0);
  });

  it("tells a file from a directory and a missing path, and streams a file's bytes", async () => {
    const { runtime, s3 } = ready();
    s3.seed(`${PREFIX}outputs/tables/t1.csv`, "x,y\n1,2\n");
    expect(await runtime.statOutput(W, "tables/t1.csv")).toEqual({ kind: "file", bytes: 8 });
    expect(await runtime.statOutput(W, "tables")).toEqual({ kind: "directory", bytes: 0 });
    expect(await runtime.statOutput(W, "tables/t2.csv")).toEqual({ kind: "missing", bytes: 0 });
    expect(await runtime.statOutput(W, "tab")).toEqual({ kind: "missing", bytes: 0 });
    expect(await collect(runtime.readOutput(W, "tables/t1.csv"))).toBe("x,y\n1,2\n");
  });

  it("answers a path too long for an S3 key as missing, without asking S3 (no KeyTooLongError as a 500)", async () => {
    const { runtime, s3 } = ready();
    // Under 1024 characters and 255 bytes per segment, but over S3's 1024 bytes once UTF-8 encoded.
    const long = Array.from({ length: 5 }, () => "é".repeat(120)).join("/");
    const heads = s3.faults.count("HeadObject");
    expect(await runtime.statOutput(W, long)).toEqual({ kind: "missing", bytes: 0 });
    await expect(collect(runtime.readOutput(W, long))).rejects.toMatchObject({ code: "file.path_escape" });
    expect(s3.faults.count("HeadObject")).toBe(heads);
    expect(s3.faults.count("GetObject")).toBe(0);
  });

  it("refuses to read a missing output or one named outside outputs/", async () => {
    const { runtime, s3 } = ready();
    s3.seed(`${PREFIX}home/secret.py`, "x");
    await expect(collect(runtime.readOutput(W, "nope.csv"))).rejects.toMatchObject({ code: "file.path_escape" });
    await expect(collect(runtime.readOutput(W, "../home/secret.py"))).rejects.toMatchObject({
      code: "file.path_escape",
    });
    await expect(runtime.statOutput(W, "../home/secret.py")).rejects.toBeInstanceOf(ValidationError);
    expect(s3.faults.count("GetObject")).toBe(1); // only the missing one was asked for
  });
});

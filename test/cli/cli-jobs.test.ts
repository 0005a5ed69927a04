/**
 * `spe files` and `spe jobs` against a real node served over HTTP, with jobs run in real bubblewrap
 * sandboxes: main() runs in-process with SPE_URL and SPE_TOKEN set and its output captured.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunningServer, serve } from "@spe/local";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Run, spe } from "../helpers/cli";
import { launchReady, seedWorld } from "../helpers/fixtures";
import { waitJob } from "../helpers/jobs";
import { makeNode, type TestNode } from "../helpers/node";

const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");

const tmp = mkdtempSync(join(tmpdir(), "spe-cli-jobs-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function localFile(name: string, content: string | Buffer): string {
  const path = join(tmp, name);
  writeFileSync(path, content);
  return path;
}

describe("spe files and spe jobs against a running node", () => {
  let node: TestNode;
  let server: RunningServer;
  let alice: string;
  let ws: string;

  /** Runs `spe <args>` in-process as alice (or `token`) against the server. */
  const cli = (args: string[], token = alice): Promise<Run> => spe(args, { url: server.url, token });

  beforeAll(async () => {
    node = makeNode();
    const world = await seedWorld(node);
    alice = world.alice;
    ws = (await launchReady(node, alice, world.permitId)).id;
    server = await serve(node, 0);
  });

  afterAll(async () => {
    await server.shutdown();
    await node.dispose();
  });

  describe("files", () => {
    it("uploads a file into home/ and lists it with the same SHA-256", async () => {
      const content = "print('hello from home')\n";
      const up = await cli(["files", "upload", ws, localFile("hello.py", content)]);
      expect(up).toMatchObject({ code: 0, stderr: "" });
      expect(up.stdout).toBe(`uploaded home/hello.py (${content.length} bytes, sha256 ${sha256(content)})\n`);

      const nested = await cli(["files", "upload", ws, localFile("lib.py", "X = 1\n"), "--as", "src/pkg/lib v1.py"]);
      expect(nested.code).toBe(0);
      expect(nested.stdout).toContain("uploaded home/src/pkg/lib v1.py (6 bytes");

      const listed = await cli(["files", "list", ws, "--dir", "home"]);
      expect(listed.code).toBe(0);
      expect(listed.stdout).toMatch(/^PATH\s+BYTES\s+SHA-256$/m);
      expect(listed.stdout).toMatch(new RegExp(`^home/hello\\.py\\s+${content.length}\\s+${sha256(content)}$`, "m"));
      expect(listed.stdout).toMatch(new RegExp(`^home/src/pkg/lib v1\\.py\\s+6\\s+${sha256("X = 1\n")}$`, "m"));

      const json = await cli(["--json", "files", "list", ws, "--dir", "home"]);
      expect(JSON.parse(json.stdout).items).toContainEqual({
        path: "home/hello.py",
        bytes: content.length,
        sha256: sha256(content),
      });
    });

    it("shows the server's problem for a path leaving home/, exits 1 and writes nothing", async () => {
      const r = await cli(["files", "upload", ws, localFile("escape.txt", "nope\n"), "--as", "../escape.txt"]);
      expect(r).toMatchObject({ code: 1, stdout: "" });
      expect(r.stderr).toMatch(/^error: .*\.\./);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      const listed = await cli(["--json", "files", "list", ws, "--dir", "home"]);
      expect(JSON.stringify(JSON.parse(listed.stdout))).not.toContain("escape");
    });

    it("sends a file over 1 MiB and shows the server's 413", async () => {
      const r = await cli(["files", "upload", ws, localFile("big.bin", Buffer.alloc(1024 ** 2 + 1, 7))]);
      expect(r).toMatchObject({ code: 1, stdout: "" });
      expect(r.stderr).toContain("uploads are limited to 1048576 bytes");
    });

    it("refuses a missing local file before calling the server (exit 2)", async () => {
      const r = await cli(["files", "upload", ws, join(tmp, "missing.py")]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("no such file");
    });

    it("says when outputs/ is empty, and rejects an unknown --dir", async () => {
      const fresh = await cli(["files", "list", ws]);
      expect(fresh).toMatchObject({ code: 0, stdout: "(no files in outputs/)\n" });
      const bad = await cli(["files", "list", ws, "--dir", "data"]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain("--dir");
    });
  });

  describe("jobs", () => {
    it("runs a command, prints its output and exits 0", async () => {
      const r = await cli(["jobs", "run", ws, "--", "python3", "-c", "print('hi')"]);
      expect(r, r.stderr).toMatchObject({ code: 0, stdout: "hi\n" });
    });

    it("prints the ended job as JSON with --json, and notes the progress of a longer job on stderr", async () => {
      const json = await cli(["--json", "jobs", "run", ws, "--", "sh", "-c", "echo done"]);
      expect(json).toMatchObject({ code: 0, stderr: "" });
      expect(JSON.parse(json.stdout)).toMatchObject({ status: "succeeded", exitCode: 0, stdout: "done\n" });

      const text = await cli(["jobs", "run", ws, "--", "sh", "-c", "sleep 3.3; echo done"]);
      expect(text).toMatchObject({ code: 0, stdout: "done\n" });
      expect(text.stderr).toMatch(/^job job-\S+ running \(3 s\); Ctrl-C stops waiting, not the job\n$/);
    });

    it("exits with the job's exit code and passes its stderr through", async () => {
      const r = await cli(["jobs", "run", ws, "--", "sh", "-c", "echo out; echo oops >&2; exit 3"]);
      expect(r.code).toBe(3);
      expect(r.stdout).toBe("out\n");
      expect(r.stderr).toMatch(/^oops\njob job-\S+ failed: exit code 3\n$/);
    });

    it("passes arguments starting with - after -- to the command", async () => {
      const script = "import sys; print(sys.argv[1:])";
      const r = await cli(["jobs", "run", ws, "--", "python3", "-c", script, "-v", "--json", "--timeout", "5", "--"]);
      expect(r).toMatchObject({ code: 0, stdout: "['-v', '--json', '--timeout', '5', '--']\n" });
    });

    it("reports a job killed at its timeout and exits 1", async () => {
      const started = Date.now();
      const r = await cli(["jobs", "run", ws, "--timeout", "1", "--", "sleep", "30"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/job job-\S+ timed_out: killed after its timeout of 1 s/);
      expect(Date.now() - started).toBeLessThan(10_000);
    });

    it("submits without waiting, then shows the job", async () => {
      const r = await cli(["jobs", "run", ws, "--no-wait", "--", "sh", "-c", "echo to-out; echo to-err >&2"]);
      expect(r.code).toBe(0);
      const m = /^job (job-\S+): (queued|running)\n$/.exec(r.stdout);
      expect(m).not.toBeNull();
      const jobId = m?.[1] as string;
      expect(r.stderr).toContain(`spe jobs show ${ws} ${jobId}`);
      await waitJob(node, alice, ws, jobId);

      const shown = await cli(["jobs", "show", ws, jobId]);
      expect(shown.code).toBe(0);
      expect(shown.stdout).toMatch(new RegExp(`^id:\\s+${jobId}$`, "m"));
      expect(shown.stdout).toMatch(/^status:\s+succeeded$/m);
      expect(shown.stdout).toMatch(/^exit code:\s+0$/m);
      expect(shown.stdout).toMatch(/^command:\s+sh -c 'echo to-out; echo to-err >&2'$/m);
      expect(shown.stdout).toMatch(/^stdout:\nto-out\n\nstderr:\nto-err\n$/m);

      const json = await cli(["--json", "jobs", "show", ws, jobId]);
      expect(JSON.parse(json.stdout)).toMatchObject({ id: jobId, status: "succeeded", stdout: "to-out\n" });
    });

    it("lists the outputs a job wrote", async () => {
      const run = await cli([
        "jobs",
        "run",
        ws,
        "--",
        "sh",
        "-c",
        "mkdir -p outputs/t && printf 'n,10\\n' > outputs/t/a.csv",
      ]);
      expect(run.code).toBe(0);
      const listed = await cli(["files", "list", ws]);
      expect(listed.code).toBe(0);
      expect(listed.stdout).toMatch(new RegExp(`^outputs/t/a\\.csv\\s+5\\s+${sha256("n,10\n")}$`, "m"));
    });

    it("shows the server's detail for a job in an unknown workspace", async () => {
      const r = await cli(["jobs", "run", "ws-nope", "--", "true"]);
      expect(r).toMatchObject({ code: 1, stdout: "" });
      expect(r.stderr).toMatch(/^error: .*ws-nope/);
    });

    it("needs a command after --", async () => {
      const r = await cli(["jobs", "run", ws, "--"]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("command");
    });
  });
});

/**
 * `spe egress` against a real node served over HTTP (outputs written by a real sandboxed job), plus a
 * fake server for what a real one never does: send bytes that do not match, or name a file unsafely.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunningServer, serve } from "@spe/local";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { forTerminal } from "../../packages/cli/src/commands/egress";
import { type Run, spe } from "../helpers/cli";
import { launchReady, seedWorld, type World } from "../helpers/fixtures";
import { runJob } from "../helpers/jobs";
import { makeNode, type TestNode } from "../helpers/node";

const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");

const TABLE = "group,n\na,25\nb,40\n";
const SMALL = "group,n\na,25\nb,4\n";

const tmp = mkdtempSync(join(tmpdir(), "spe-cli-egress-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let dirs = 0;
const freshDir = () => join(tmp, `d${++dirs}`);

/** Runs `spe <args>` in-process against `url` with `token`. */
const speAt = (url: string, args: string[], token: string): Promise<Run> => spe(args, { url, token });

describe("spe egress against a running node", () => {
  let node: TestNode;
  let server: RunningServer;
  let w: World;
  let ws: string;

  const spe = (args: string[], token = w.alice) => speAt(server.url, args, token);

  /** Requests the files as alice and returns the new request's id. */
  async function requestFiles(files: string[]): Promise<string> {
    const r = await spe(["--json", "egress", "request", ws, ...files, "--justification", "Table 2"]);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout).id;
  }

  beforeAll(async () => {
    node = makeNode();
    w = await seedWorld(node);
    ws = (await launchReady(node, w.alice, w.permitId)).id;
    const write = (path: string, text: string) => `open('${path}','w').write(${JSON.stringify(text)})`;
    const job = await runJob(node, w.alice, ws, [
      "python3",
      "-c",
      [
        "import os",
        "os.makedirs('outputs/sub', exist_ok=True)",
        write("outputs/t.csv", TABLE),
        write("outputs/small.csv", SMALL),
        write("outputs/sub/t.csv", TABLE),
      ].join("; "),
    ]);
    expect(job.status, job.stderr).toBe("succeeded");
    server = await serve(node, 0);
  });

  afterAll(async () => {
    await server?.shutdown();
    await node?.dispose();
  });

  it("requests, shows, is reviewed, and downloads the approved bytes with their hash verified", async () => {
    const req = await spe(["egress", "request", ws, "outputs/t.csv", "--justification", "Table 2 of the paper"]);
    expect(req.code, req.stderr).toBe(0);
    const id = /^egress request (eg-\S+): pending_review, verdict pass, 1 file$/m.exec(req.stdout)?.[1] as string;
    expect(id).toBeDefined();
    expect(req.stdout).toMatch(/^#\s+PATH\s+BYTES\s+VERDICT\s+FINDINGS$/m);
    expect(req.stdout).toMatch(new RegExp(`^0\\s+outputs/t\\.csv\\s+${TABLE.length}\\s+pass\\s+0$`, "m"));
    expect(req.stderr).toContain(`spe egress show ${id}`);

    const shown = await spe(["egress", "show", id]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(new RegExp(`^id:\\s+${id}$`, "m"));
    expect(shown.stdout).toMatch(/^status:\s+pending_review$/m);
    expect(shown.stdout).toMatch(/^requester:\s+alice$/m);
    expect(shown.stdout).toContain("justification:\n  Table 2 of the paper\n");
    expect(shown.stdout).toContain("reviews:\n  (none yet)");

    // The reviewer reads the snapshot, to stdout and to a file, with its hash checked.
    const viewed = await spe(["egress", "view", id, "0"], w.reviewer);
    expect(viewed).toMatchObject({ code: 0, stdout: TABLE, stderr: "" });
    const copy = join(tmp, "viewed.csv");
    const saved = await spe(["egress", "view", id, "0", "--out", copy], w.reviewer);
    expect(saved.code, saved.stderr).toBe(0);
    expect(saved.stdout).toBe(`wrote ${copy} (${TABLE.length} bytes, sha256 ${sha256(TABLE)} verified)\n`);
    expect(readFileSync(copy, "utf8")).toBe(TABLE);
    const notReviewer = await spe(["egress", "view", id, "0"]);
    expect(notReviewer).toMatchObject({ code: 1, stdout: "" });

    const reviewed = await spe(["egress", "review", id, "--approve", "--comment", "counts all >= 10"], w.reviewer);
    expect(reviewed.code, reviewed.stderr).toBe(0);
    expect(reviewed.stdout).toBe(`reviewed (approve): egress request ${id}: approved, verdict pass, 1 file\n`);
    const after = await spe(["egress", "show", id]);
    expect(after.stdout).toMatch(/^ {2}rui approve at \S+ \S+\n {4}counts all >= 10$/m);

    const out = freshDir();
    const dl = await spe(["egress", "download", id, "--out", out]);
    expect(dl, dl.stderr).toMatchObject({ code: 0, stderr: "" });
    const file = join(out, "t.csv");
    expect(dl.stdout).toBe(`downloaded ${file} (${TABLE.length} bytes, sha256 ${sha256(TABLE)} verified)\n`);
    expect(readFileSync(file, "utf8")).toBe(TABLE);
    expect(readdirSync(out)).toEqual(["t.csv"]);

    // Again into the same directory: refused without --force, replaced with it.
    const again = await spe(["egress", "download", id, "--out", out]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("add --force");
    const forced = await spe(["--json", "egress", "download", id, "--out", out, "--force"]);
    expect(forced.code, forced.stderr).toBe(0);
    expect(JSON.parse(forced.stdout).files).toEqual([
      { path: "outputs/t.csv", file, bytes: TABLE.length, sha256: sha256(TABLE) },
    ]);
    expect(readdirSync(out)).toEqual(["t.csv"]);

    // The release record, for an auditor.
    const record = await spe(["egress", "record", id], w.auditor);
    expect(record.code, record.stderr).toBe(0);
    expect(JSON.parse(record.stdout)).toHaveProperty("@graph");
    expect(record.stdout).toMatch(/^\{\n {2}"/);
    const recordFile = join(tmp, "ro-crate-metadata.json");
    const toFile = await spe(["egress", "record", id, "--out", recordFile], w.auditor);
    expect(toFile).toMatchObject({ code: 0, stdout: `wrote the release record of ${id} to ${recordFile}\n` });
    expect(JSON.parse(readFileSync(recordFile, "utf8"))).toHaveProperty("@graph");
    const researcher = await spe(["egress", "record", id]);
    expect(researcher).toMatchObject({ code: 1, stdout: "" });
  });

  it("prints each finding of a failing file", async () => {
    const r = await spe(["egress", "request", ws, "outputs/small.csv", "--justification", "Table 3"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^egress request eg-\S+: pending_review, verdict fail, 1 file$/m);
    expect(r.stdout).toMatch(new RegExp(`^0\\s+outputs/small\\.csv\\s+${SMALL.length}\\s+fail\\s+[1-9]\\d*$`, "m"));
    expect(r.stdout).toMatch(/^findings in outputs\/small\.csv:\n {2}min_cell_count fail row 2, column n: .+$/m);
  });

  it("needs exactly one decision flag (exit 2, nothing sent)", async () => {
    const id = await requestFiles(["outputs/t.csv"]);
    const none = await spe(["egress", "review", id, "--comment", "hm"], w.reviewer);
    expect(none).toMatchObject({ code: 2, stdout: "" });
    expect(none.stderr).toContain("exactly one of --approve, --reject and --request-changes");
    const two = await spe(["egress", "review", id, "--approve", "--reject", "--comment", "hm"], w.reviewer);
    expect(two).toMatchObject({ code: 2, stdout: "" });
    const still = await spe(["--json", "egress", "show", id]);
    expect(JSON.parse(still.stdout)).toMatchObject({ status: "pending_review", reviews: [] });
  });

  it("shows the server's problem for a reject without a comment, then rejects with one", async () => {
    const id = await requestFiles(["outputs/t.csv"]);
    const bare = await spe(["egress", "review", id, "--reject"], w.reviewer);
    expect(bare).toMatchObject({ code: 1, stdout: "" });
    expect(bare.stderr).toMatch(/^error: rejecting needs a comment/);
    expect(bare.stderr).toContain("comment: required");

    const own = await spe(["egress", "review", id, "--approve"], w.aliceReviewer);
    expect(own.code).toBe(1);
    expect(own.stderr).toContain("another reviewer must review it");

    const rejected = await spe(["egress", "review", id, "--reject", "--comment", "too small"], w.reviewer);
    expect(rejected.code, rejected.stderr).toBe(0);
    expect(rejected.stdout).toContain(`egress request ${id}: rejected`);

    const dl = await spe(["egress", "download", id, "--out", freshDir()]);
    expect(dl).toMatchObject({ code: 1, stdout: "" });
    expect(dl.stderr).toContain("only approved files can be downloaded");
  });

  it("withdraws a pending request, once", async () => {
    const id = await requestFiles(["outputs/t.csv"]);
    const r = await spe(["egress", "withdraw", id]);
    expect(r).toMatchObject({ code: 0, stdout: `withdrew egress request ${id}: withdrawn, verdict pass, 1 file\n` });
    const twice = await spe(["egress", "withdraw", id]);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain("can no longer be withdrawn");
  });

  it("refuses to download a request that is not approved, and writes nothing", async () => {
    const id = await requestFiles(["outputs/t.csv"]);
    const out = freshDir();
    const r = await spe(["egress", "download", id, "--out", out]);
    expect(r).toMatchObject({ code: 1, stdout: "" });
    expect(r.stderr).toContain(`egress request ${id} is pending_review: only approved files can be downloaded`);
    expect(existsSync(out)).toBe(false);
  });

  it("refuses two approved files with the same base name before asking for links", async () => {
    const id = await requestFiles(["outputs/t.csv", "outputs/sub/t.csv"]);
    expect((await spe(["egress", "review", id, "--approve"], w.reviewer)).code).toBe(0);
    const out = freshDir();
    const r = await spe(["egress", "download", id, "--out", out]);
    expect(r).toMatchObject({ code: 1, stdout: "" });
    expect(r.stderr).toContain("would both be written as");
    expect(existsSync(out)).toBe(false);
  });

  it("lists requests with filters, and rejects an unknown status", async () => {
    const listed = await spe(["egress", "list", "--workspace", ws, "--all"], w.reviewer);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/^ID\s+STATUS\s+VERDICT\s+WORKSPACE\s+PERMIT\s+REQUESTER\s+FILES\s+CREATED$/m);
    const withdrawn = await spe(["--json", "egress", "list", "--status", "withdrawn"], w.reviewer);
    const items = JSON.parse(withdrawn.stdout).items as { status: string }[];
    expect(items.length).toBeGreaterThan(0);
    expect(items.every((x) => x.status === "withdrawn")).toBe(true);
    const none = await spe(["egress", "list", "--permit", "HDAB-NOPE"]);
    expect(none).toMatchObject({ code: 0, stdout: "no egress requests\n" });
    const bad = await spe(["egress", "list", "--status", "lost"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--status");
  });
});

describe("spe egress download against a misbehaving server", () => {
  const CONTENT = "group,n\na,25\nb,40\n";
  let fake: Server;
  let url: string;
  /** What the fake serves: the request's file path, and the bytes its download link returns. */
  let path = "outputs/t.csv";
  let served = CONTENT;
  let dlHeaders: IncomingHttpHeaders[] = [];
  let linksMade = 0;

  beforeAll(async () => {
    fake = createServer((req, res) => {
      const json = (status: number, body: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(body));
      };
      if (req.method === "GET" && req.url === "/v1/egress-requests/eg-fake") {
        return json(200, {
          id: "eg-fake",
          status: "approved",
          files: [{ path, bytes: CONTENT.length, sha256: sha256(CONTENT), verdict: "pass", findings: [] }],
        });
      }
      if (req.method === "POST" && req.url === "/v1/egress-requests/eg-fake/downloads") {
        linksMade++;
        return json(201, { files: [{ path, url: `${url}/dl/g/secret`, expiresAt: "2099-01-01T00:00:00Z" }] });
      }
      if (req.method === "GET" && req.url === "/dl/g/secret") {
        dlHeaders.push(req.headers);
        res.writeHead(200, { "content-type": "application/octet-stream", "x-content-sha256": sha256(CONTENT) });
        return res.end(served);
      }
      json(404, { status: 404, detail: "not here" });
    });
    await new Promise<void>((done) => fake.listen(0, "127.0.0.1", done));
    url = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((done) => fake.close(() => done())));

  it("does not write a file whose bytes do not match the approved SHA-256, exits 1, sends no token", async () => {
    served = CONTENT.replace("40", "04");
    dlHeaders = [];
    const out = freshDir();
    const r = await speAt(url, ["egress", "download", "eg-fake", "--out", out], "secret-token");
    expect(r).toMatchObject({ code: 1, stdout: "" });
    expect(r.stderr).toContain("outputs/t.csv does not match what was approved");
    expect(readdirSync(out)).toEqual([]);
    expect(dlHeaders).toHaveLength(1);
    expect(dlHeaders[0]?.authorization).toBeUndefined();

    served = CONTENT;
    const ok = await speAt(url, ["egress", "download", "eg-fake", "--out", out], "secret-token");
    expect(ok.code, ok.stderr).toBe(0);
    expect(readFileSync(join(out, "t.csv"), "utf8")).toBe(CONTENT);
  });

  it("refuses a file name that could leave the directory before asking for links", async () => {
    for (const bad of ["outputs/..", "outputs/", "outputs/a\u0000b.csv", "outputs/a\\..\\b.csv"]) {
      path = bad;
      linksMade = 0;
      const out = freshDir();
      const r = await speAt(url, ["egress", "download", "eg-fake", "--out", out], "secret-token");
      expect(r, bad).toMatchObject({ code: 1, stdout: "" });
      expect(r.stderr).toContain("not a safe file name");
      expect(linksMade).toBe(0);
      expect(existsSync(out)).toBe(false);
    }
    path = "outputs/t.csv";
  });
});

describe("spe egress view on a terminal", () => {
  it("refuses binary content and masks what could drive the terminal or hide text", () => {
    expect(forTerminal(Buffer.from("a,b\n\u0000\n"))).toBeNull();
    expect(forTerminal(Buffer.from([0x61, 0xff, 0x0a]))).toBeNull();
    expect(forTerminal(Buffer.from("group,n\r\na,\u001b[8m25\rb,40\tx\n"))).toEqual({
      text: "group,n\r\na,?[8m25?b,40\tx\n",
      masked: 2,
    });
  });
});

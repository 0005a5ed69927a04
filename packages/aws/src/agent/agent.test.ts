import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FakeS3 } from "../testing/fake-s3";
import type { FakeS3View } from "../testing/fake-s3-view";
import { slowDown } from "../testing/faults";
import { type AgentConfig, runAgent } from "./agent";
import { decodeLog } from "./framing";
import { AGENT_EXIT, jobSpecKey } from "./protocol";
import { processesOf } from "./run-job";

const BUCKET = "spe-test-workspaces";
const PREFIX = "permits/p-onc/workspaces/ws-01abc/";
const JOB = "job-01xyz";
const KMS = "arn:aws:kms:eu-central-1:123456789012:alias/spe-test-permit-p-onc";
const asRoot = process.getuid?.() === 0;
/** A uid nothing else on this machine uses, so killing "every process of the job's user" is safe here. */
const TEST_UID = 61_000 + (process.pid % 1000);

let s3: FakeS3View;
let base: string;
let root: string;

beforeEach(() => {
  s3 = new FakeS3([BUCKET]).view(BUCKET);
  base = mkdtempSync(join(tmpdir(), "spe-agent-"));
  chmodSync(base, 0o755); // the job's user must reach the workspace
  root = join(base, "workspace");
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

const config = (over: Partial<AgentConfig> = {}): AgentConfig => ({
  bucket: BUCKET,
  prefix: PREFIX,
  jobId: JOB,
  timeoutSeconds: 60,
  outputsQuotaBytes: 1024 * 1024,
  kmsKeyId: KMS,
  ...over,
});

function withJob(command: string[]): void {
  s3.seed(jobSpecKey(PREFIX, JOB), JSON.stringify({ jobId: JOB, command, timeoutSeconds: 60 }));
}

async function agent(over: Partial<AgentConfig> = {}, opts: { owner?: boolean; cancel?: AbortSignal } = {}) {
  const lines: string[] = [];
  const code = await runAgent(config(over), {
    s3: s3.client,
    root,
    emit: (l) => lines.push(l),
    cancel: opts.cancel ?? new AbortController().signal,
    quotaPollMs: 50,
    ...(opts.owner ? { owner: { uid: TEST_UID, gid: TEST_UID } } : {}),
  });
  return { code, lines, log: decodeLog(lines) };
}

describe("runAgent", () => {
  it("runs the command as argv in /workspace and tells the job's stdout from its stderr", async () => {
    withJob(["sh", "-c", "echo hi; echo oops >&2; pwd; exit 3", "ignored-$0"]);
    const { code, lines, log } = await agent();
    expect(code).toBe(AGENT_EXIT.failed);
    expect(log.stdout).toBe(`hi\n${root}\n`);
    expect(log.stderr).toBe("oops\n");
    expect(log.end).toMatchObject({ event: "end", outcome: "failed", exitCode: 3, signal: null });
    // readable for an operator: tagged lines, the agent's records last
    expect(lines).toContain("out| hi");
    expect(lines).toContain("err| oops");
    expect(lines.at(-1)).toMatch(/^spe\| \{"event":"end"/);
  });

  it("never passes the command through a shell: metacharacters reach the program as they are", async () => {
    withJob(["printf", "%s|", "$(id)", "a;b", "*"]);
    const { code, log } = await agent();
    expect(code).toBe(AGENT_EXIT.succeeded);
    expect(log.stdout).toBe("$(id)|a;b|*|");
    expect(log.end).toMatchObject({ outcome: "succeeded", exitCode: 0 });
  });

  it("downloads the areas, uploads new and changed files, deletes removed ones and never stores a symlink", async () => {
    s3.seed(`${PREFIX}data/ds-1/patients.csv`, "id,age\np1,40\n");
    s3.seed(`${PREFIX}home/keep.py`, "print(1)\n");
    s3.seed(`${PREFIX}home/change.txt`, "v1\n");
    s3.seed(`${PREFIX}home/remove.txt`, "bye\n");
    s3.seed(`${PREFIX}outputs/old.csv`, "a\n");
    withJob([
      "sh",
      "-c",
      [
        "set -e",
        "cat data/ds-1/patients.csv > outputs/copy.csv",
        "echo v2 > home/change.txt",
        "rm home/remove.txt",
        "mkdir -p outputs/sub && echo deep > outputs/sub/t.txt",
        "ln -s /etc/passwd outputs/leak",
        "ln -s / outputs/rootlink",
        "mkfifo outputs/fifo",
      ].join("\n"),
    ]);
    const { code, log } = await agent();
    expect(log.end, log.stderr).toMatchObject({ outcome: "succeeded" });
    expect(code).toBe(AGENT_EXIT.succeeded);
    expect(s3.objects(`${PREFIX}outputs/`).map((o) => o.key.slice(PREFIX.length))).toEqual([
      "outputs/copy.csv",
      "outputs/old.csv",
      "outputs/sub/t.txt",
    ]);
    expect(s3.text(`${PREFIX}outputs/copy.csv`)).toBe("id,age\np1,40\n");
    expect(s3.text(`${PREFIX}home/change.txt`)).toBe("v2\n");
    expect(s3.current(`${PREFIX}home/remove.txt`)?.body).toBeNull(); // a delete marker
    // unchanged files are not written again
    expect(s3.allVersions(`${PREFIX}home/keep.py`)).toHaveLength(1);
    expect(s3.allVersions(`${PREFIX}outputs/old.csv`)).toHaveLength(1);
    // every write is under the permit key, with its SHA-256 as metadata and as S3 checksum
    const copy = s3.current(`${PREFIX}outputs/copy.csv`)!;
    expect(copy.kmsKeyId).toBe(KMS);
    expect(copy.bucketKey).toBe(true);
    expect(copy.metadata.sha256).toBe(createHash("sha256").update("id,age\np1,40\n").digest("hex"));
    expect(Buffer.from(copy.checksumSha256!, "base64").toString("hex")).toBe(copy.metadata.sha256);
    // data/ is never written back
    expect(
      s3.faults.calls.filter((c) => c.command === "PutObject").map((c) => (c.input as { Key: string }).Key),
    ).toEqual(expect.not.arrayContaining([expect.stringContaining("/data/")]));
  });

  it.skipIf(!asRoot)(
    "runs the job as an unprivileged user, without the task's credentials, unable to change data/",
    async () => {
      s3.seed(`${PREFIX}data/ds-1/a.csv`, "x\n");
      process.env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI = "/v2/credentials/secret-guid-1234";
      try {
        withJob([
          "sh",
          "-c",
          [
            "id -u",
            "env | sort",
            `cat /proc/${process.pid}/environ >/dev/null 2>&1 && echo READ-AGENT-ENV || echo environ-denied`,
            "echo x > data/ds-1/a.csv 2>/dev/null && echo WROTE-DATA || echo data-readonly",
            "echo x > data/new.csv 2>/dev/null && echo ADDED-DATA || echo data-closed",
            "echo mine > home/mine.txt && echo home-writable",
          ].join("; "),
        ]);
        const { log } = await agent({}, { owner: true });
        const out = log.stdout.split("\n");
        expect(out[0]).toBe(String(TEST_UID));
        const env = out.filter((l) => /^[A-Z_]+=/.test(l)).map((l) => l.split("=")[0]);
        expect(env.filter((k) => k !== "PWD" && k !== "SHLVL" && k !== "_")).toEqual([
          "HOME",
          "LANG",
          "MPLBACKEND",
          "MPLCONFIGDIR",
          "PATH",
          "TMPDIR",
          "XDG_CACHE_HOME",
        ]);
        expect(log.stdout).not.toContain("secret-guid-1234");
        expect(log.stdout).toContain("environ-denied");
        expect(log.stdout).toContain("data-readonly");
        expect(log.stdout).toContain("data-closed");
        expect(log.stdout).toContain("home-writable");
        const data = statSync(join(root, "data/ds-1/a.csv"));
        expect([data.uid, data.mode & 0o777]).toEqual([0, 0o444]);
        expect(statSync(join(root, "data/ds-1")).mode & 0o777).toBe(0o555);
        expect(statSync(join(root, "home")).uid).toBe(TEST_UID);
        expect(s3.text(`${PREFIX}home/mine.txt`)).toBe("mine\n");
      } finally {
        delete process.env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI;
      }
    },
  );

  it.skipIf(!asRoot)("kills the job at its timeout with everything its user left running", async () => {
    withJob(["sh", "-c", "sleep 31 & (setsid sleep 32 &) ; echo started; sleep 33"]);
    const started = Date.now();
    const { code, log } = await agent({ timeoutSeconds: 1 }, { owner: true });
    expect(code).toBe(AGENT_EXIT.timedOut);
    expect(log.end).toMatchObject({ outcome: "timed_out", reason: "killed at its timeout of 1000 ms" });
    expect(log.stdout).toBe("started\n");
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await processesOf(TEST_UID)).toEqual([]);
  });

  it("kills a job whose outputs/ grows past its quota, keeps home/ and does not store outputs/", async () => {
    withJob(["sh", "-c", "echo h > home/h.txt; head -c 5000 /dev/zero > outputs/big.bin; sleep 20"]);
    const { code, log } = await agent({ outputsQuotaBytes: 1000 });
    expect(code).toBe(AGENT_EXIT.quotaExceeded);
    expect(log.end).toMatchObject({ outcome: "quota_exceeded" });
    expect(log.end?.reason).toBe("outputs/ grew past its quota of 1000 bytes; outputs/ was not saved");
    expect(s3.text(`${PREFIX}home/h.txt`)).toBe("h\n");
    expect(s3.allVersions(`${PREFIX}outputs/`)).toEqual([]);
  });

  it("cancels the job when the task is asked to stop, and still saves what it wrote", async () => {
    withJob(["sh", "-c", "echo partial > outputs/p.txt; sleep 30"]);
    const cancel = new AbortController();
    const poll = setInterval(() => {
      if (existsSync(join(root, "outputs/p.txt"))) cancel.abort();
    }, 20);
    try {
      const { code, log } = await agent({}, { cancel: cancel.signal });
      expect(code).toBe(AGENT_EXIT.cancelled);
      expect(log.end).toMatchObject({ outcome: "cancelled", signal: "SIGKILL" });
      expect(s3.text(`${PREFIX}outputs/p.txt`)).toBe("partial\n");
    } finally {
      clearInterval(poll);
    }
  });

  it("runs nothing when the job's spec was withdrawn", async () => {
    s3.seed(`${PREFIX}data/ds-1/a.csv`, "x\n");
    const { code, log, lines } = await agent();
    expect(code).toBe(AGENT_EXIT.withdrawn);
    expect(log.end).toMatchObject({ outcome: "failed", reason: "the job was withdrawn before it started" });
    expect(lines.some((l) => /^(out|err)[|+]/.test(l))).toBe(false);
    expect(existsSync(join(root, "data"))).toBe(false);
    expect(s3.faults.count("PutObject")).toBe(0);
  });

  it("does not run the job on a download that does not match its SHA-256", async () => {
    s3.seed(`${PREFIX}data/ds-1/a.csv`, "tampered\n", { sha256: "0".repeat(64) });
    withJob(["sh", "-c", "echo ran > outputs/ran.txt"]);
    const { code, log } = await agent();
    expect(code).toBe(AGENT_EXIT.syncFailed);
    expect(log.end?.reason).toBe("the workspace could not be downloaded (IntegrityError)");
    expect(existsSync(join(root, "outputs/ran.txt"))).toBe(false);
    expect(s3.faults.count("PutObject")).toBe(0);
  });

  it("reports a job whose files could not be saved (S3 throttling past the client's retries) as failed", async () => {
    withJob(["sh", "-c", "echo result > outputs/r.txt"]);
    s3.faults.fail("PutObject", slowDown, { times: 100 });
    const { code, log } = await agent();
    expect(code).toBe(AGENT_EXIT.syncFailed);
    expect(log.end).toMatchObject({ outcome: "failed", exitCode: 0 });
    expect(log.end?.reason).toBe(
      "the job ended (succeeded) but its files were not all saved: an upload failed (SlowDown)",
    );
    expect(s3.objects(`${PREFIX}outputs/`)).toEqual([]);
  });

  it("fails a command that does not exist with a reason, not a crash", async () => {
    withJob(["no-such-program-spe"]);
    const { code, log } = await agent();
    expect(code).toBe(AGENT_EXIT.failed);
    expect(log.end).toMatchObject({
      outcome: "failed",
      exitCode: null,
      reason: "the command could not be started (ENOENT)",
    });
  });

  it("uploads a file over the single-put size as a multipart upload with its SHA-256 in metadata", async () => {
    withJob(["sh", "-c", "head -c 17825792 /dev/urandom > outputs/big.bin"]); // 17 MiB
    const { code } = await agent({ outputsQuotaBytes: 64 * 1024 * 1024 });
    expect(code).toBe(AGENT_EXIT.succeeded);
    const big = s3.current(`${PREFIX}outputs/big.bin`)!;
    expect(big.body?.length).toBe(17825792);
    expect(big.metadata.sha256).toBe(createHash("sha256").update(big.body!).digest("hex"));
    expect(big.kmsKeyId).toBe(KMS);
    expect(s3.faults.count("UploadPart")).toBe(2);
    expect(s3.uploads()).toEqual([]);
  });
});

import { describe, expect, it } from "vitest";
import { AgentConfigError, readAgentConfig } from "./config";
import { agentLine, decodeLog, MAX_FRAGMENT_BYTES, StreamFramer } from "./framing";
import { JobOutput } from "./job-output";

/** Frames stdout and stderr chunks in the given order, as the agent does, and returns the log lines. */
function frame(chunks: [stream: "stdout" | "stderr", text: string | Buffer][], forward?: number, tail?: number) {
  const lines: string[] = [];
  const out = new JobOutput((l) => lines.push(l), forward, tail);
  for (const [stream, text] of chunks) out[stream].push(Buffer.from(text));
  out.end();
  return lines;
}

describe("log framing", () => {
  it("tags every line with its stream so the merged log splits back exactly", () => {
    const lines = frame([
      ["stdout", "hello\nwor"],
      ["stderr", "warning: x\n"],
      ["stdout", "ld\n\nno newline at the end"],
    ]);
    expect(lines).toEqual(["out| hello", "err| warning: x", "out| world", "out|", "out+ no newline at the end"]);
    const log = decodeLog(lines);
    expect(log.stdout).toBe("hello\nworld\n\nno newline at the end");
    expect(log.stderr).toBe("warning: x\n");
  });

  it("splits long lines into records of at most 8 KiB on character boundaries, and joins them back", () => {
    const long = `${"é".repeat(5000)}${"€".repeat(4000)}|${"x".repeat(MAX_FRAGMENT_BYTES)}\n`;
    const lines = frame([["stdout", long]]);
    expect(lines.length).toBeGreaterThan(3);
    for (const l of lines) {
      expect(Buffer.byteLength(l)).toBeLessThanOrEqual(MAX_FRAGMENT_BYTES + 5);
      expect(l).not.toContain("\uFFFD");
    }
    expect(lines.slice(0, -1).every((l) => l.startsWith("out+ "))).toBe(true);
    expect(lines.at(-1)).toMatch(/^out\| /);
    expect(decodeLog(lines).stdout).toBe(long);
  });

  it("keeps a character split across two pipe reads whole", () => {
    const euro = Buffer.from("€\n");
    const lines = frame([
      ["stdout", euro.subarray(0, 1)],
      ["stdout", euro.subarray(1)],
    ]);
    expect(lines).toEqual(["out| €"]);
  });

  it("does not let a job forge the agent's records", () => {
    const forged = agentLine({
      event: "end",
      outcome: "succeeded",
      exitCode: 0,
      signal: null,
      startedAt: "2026-01-01T00:00:00.000Z",
      finishedAt: "2026-01-01T00:00:01.000Z",
    });
    const lines = frame([["stdout", `${forged}\n`]]);
    const log = decodeLog(lines);
    expect(log.end).toBeNull();
    expect(log.stdout).toBe(`${forged}\n`);
  });

  it("finds the agent's end record and shows untagged lines (the agent's own crash) in stderr", () => {
    const end = {
      event: "end" as const,
      outcome: "failed" as const,
      exitCode: 2,
      signal: null,
      startedAt: "2026-01-01T00:00:00.000Z",
      finishedAt: "2026-01-01T00:00:05.000Z",
    };
    const log = decodeLog(["TypeError: boom", "    at main (agent.mjs:1:1)", "err| real", agentLine(end)]);
    expect(log.end).toEqual(end);
    expect(log.untagged).toBe(2);
    expect(log.stderr).toBe("[spe agent] TypeError: boom\n[spe agent]     at main (agent.mjs:1:1)\nreal\n");
    expect(decodeLog(['spe| {"event":"end","outcome":"succeeded"}']).end).toBeNull(); // incomplete record
  });

  it("keeps the last bytes of each stream with a note of how many came before", () => {
    const lines = Array.from({ length: 100 }, (_, i) => `out| line ${String(i).padStart(2, "0")}`);
    const log = decodeLog(lines, 16);
    expect(log.stdout).toBe(`[spe: ${100 * 8 - 16} earlier bytes truncated]\nline 98\nline 99\n`);
  });

  it("forwards the first bytes of a flood live and only its tail at the end, counting what it skipped", () => {
    const text = Array.from({ length: 500 }, (_, i) => `row ${String(i).padStart(5, "0")}\n`).join(""); // 5000 bytes
    const lines = frame([["stdout", text]], 100, 1000);
    expect(lines.join("\n").length).toBeLessThan(2000); // the 5000 bytes framed would be 7000
    const skipped = lines.find((l) => l.startsWith("spe| "));
    expect(JSON.parse(skipped!.slice(5))).toEqual({ event: "skipped", stream: "stdout", bytes: 3900 });
    const log = decodeLog(lines, 1000);
    expect(log.stdout).toBe(`[spe: 4000 earlier bytes truncated]\n${text.slice(4000)}`);
  });

  it("leaves a stream under its forward limit untouched (no skipped record)", () => {
    const lines = frame([["stderr", "a\nb\n"]], 100, 1000);
    expect(lines).toEqual(["err| a", "err| b"]);
  });

  it("framer emits an empty fragment for nothing at the end", () => {
    const lines: string[] = [];
    const f = new StreamFramer("stdout", (l) => lines.push(l));
    f.end();
    expect(lines).toEqual([]);
  });
});

describe("readAgentConfig", () => {
  const env = {
    SPE_BUCKET: "spe-prod-workspaces",
    SPE_PREFIX: "permits/P-1/workspaces/ws-01abc/",
    SPE_JOB_ID: "job-01xyz",
    SPE_TIMEOUT_SECONDS: "600",
    SPE_OUTPUTS_QUOTA_BYTES: "1073741824",
    SPE_KMS_KEY_ID: "arn:aws:kms:eu-central-1:123456789012:alias/spe-prod-permit-P-1",
  };

  it("reads the environment the runtime sets", () => {
    expect(readAgentConfig(env, ["run-job"])).toEqual({
      bucket: "spe-prod-workspaces",
      prefix: "permits/P-1/workspaces/ws-01abc/",
      jobId: "job-01xyz",
      timeoutSeconds: 600,
      outputsQuotaBytes: 1073741824,
      kmsKeyId: env.SPE_KMS_KEY_ID,
    });
  });

  it.each([
    ["a prefix leading elsewhere", { SPE_PREFIX: "permits/P-1/workspaces/../../x/" }, /SPE_PREFIX/],
    ["a prefix of another layout", { SPE_PREFIX: "home/" }, /SPE_PREFIX/],
    ["a negative timeout", { SPE_TIMEOUT_SECONDS: "-5" }, /SPE_TIMEOUT_SECONDS/],
    ["a fractional quota", { SPE_OUTPUTS_QUOTA_BYTES: "1.5" }, /SPE_OUTPUTS_QUOTA_BYTES/],
    ["a key that is no KMS ARN", { SPE_KMS_KEY_ID: "alias/x" }, /SPE_KMS_KEY_ID/],
    ["no job id", { SPE_JOB_ID: undefined }, /SPE_JOB_ID/],
  ])("refuses %s, naming the variable but not its value", (_name, over, message) => {
    const bad = { ...env, ...over };
    expect(() => readAgentConfig(bad, ["run-job"])).toThrow(message);
    try {
      readAgentConfig(bad, ["run-job"]);
    } catch (err) {
      expect(err).toBeInstanceOf(AgentConfigError);
      for (const v of Object.values(over)) if (v) expect((err as Error).message).not.toContain(v);
    }
  });

  it("refuses any other argv (the job's command never comes through argv)", () => {
    expect(() => readAgentConfig(env, ["run-job", "sh", "-c", "id"])).toThrow(/arguments must be/);
    expect(() => readAgentConfig(env, [])).toThrow(/arguments must be/);
  });
});

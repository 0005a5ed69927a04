/**
 * Runs the job's command inside the task: as the unprivileged job user, with a clean environment (none of
 * the task's variables: not AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, so the job cannot fetch the task
 * role's credentials, and it cannot read them from the agent's /proc/<pid>/environ, which belongs to root),
 * in its own process group, with a timeout, an outputs quota polled while it runs, and cancellation. When
 * it ends, for whatever reason, every process of the job's user is killed, so nothing it left behind can
 * touch the files while the agent uploads them. Node builtins only: bundled into the agent.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import type { JobOutput } from "./job-output";
import type { AgentOutcome } from "./protocol";
import { areaBytes } from "./tree";

/** How often outputs/ is measured while the job runs. */
export const QUOTA_POLL_MS = 1000;
/** After the job's process exits, how long its pipes may stay open (a leftover holding them) before closing. */
const STDIO_GRACE_MS = 1000;

export interface RunSpec {
  command: string[];
  cwd: string;
  env: Readonly<Record<string, string>>;
  /** Run as this user (the agent must be root); absent: as the agent's own user (tests). */
  uid?: number;
  gid?: number;
  timeoutMs: number;
  output: JobOutput;
  /** outputs/ and its quota, measured every `pollMs`. */
  quota: { dir: string; bytes: number; pollMs?: number };
  /** Aborting it kills the job: outcome `cancelled`. */
  cancel: AbortSignal;
}

export interface RunResult {
  outcome: AgentOutcome;
  exitCode: number | null;
  signal: string | null;
  reason?: string;
  startedAt: Date;
  finishedAt: Date;
}

/** Pids of live processes whose real uid is `uid`, read from /proc (zombies are dead: not listed). */
export async function processesOf(uid: number): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await readdir("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const status = await readFile(`/proc/${name}/status`, "latin1").catch(() => "");
    const m = /^Uid:\s+(\d+)/m.exec(status);
    if (m && Number(m[1]) === uid && !/^State:\s+[ZX]/m.test(status)) pids.push(Number(name));
  }
  return pids;
}

function sigkill(target: number): void {
  // kill(0) and kill(-1) would hit the agent's own group or every process; 1 is the container's init.
  if (!Number.isInteger(target) || Math.abs(target) <= 1) return;
  try {
    process.kill(target, "SIGKILL");
  } catch {} // already gone
}

/**
 * Kills the job's process group and, when it runs as its own user, every process of that user, until none
 * is left (a fork loop can add processes while they are killed). Never kills uid 0.
 */
export async function killJob(pgid: number, uid: number | undefined): Promise<void> {
  sigkill(-pgid);
  if (uid === undefined || uid === 0) return;
  for (let round = 0; round < 50; round++) {
    const left = await processesOf(uid);
    if (left.length === 0) return;
    for (const pid of left) sigkill(pid);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function start(spec: RunSpec): ChildProcess {
  const [file, ...args] = spec.command;
  return spawn(file!, args, {
    cwd: spec.cwd,
    env: { ...spec.env },
    detached: true, // its own process group and session, killed as a whole
    stdio: ["ignore", "pipe", "pipe"],
    ...(spec.uid === undefined ? {} : { uid: spec.uid, gid: spec.gid ?? spec.uid }),
  });
}

/** Runs the job; resolves once it and everything it started are gone. Never rejects. */
export function runJob(spec: RunSpec): Promise<RunResult> {
  const startedAt = new Date();
  return new Promise<RunResult>((resolve) => {
    let child: ChildProcess;
    try {
      child = start(spec);
    } catch (err) {
      const reason = `the command could not be started (${(err as NodeJS.ErrnoException).code ?? "error"})`;
      resolve({ outcome: "failed", exitCode: null, signal: null, reason, startedAt, finishedAt: new Date() });
      return;
    }
    let killed: { outcome: AgentOutcome; reason: string } | null = null;
    let exited = false;
    const pid = child.pid;
    const stop = (outcome: AgentOutcome, reason: string) => {
      if (exited || killed || pid === undefined) return;
      killed = { outcome, reason };
      void killJob(pid, spec.uid);
    };
    const quota = spec.quota;
    const overQuota = async (): Promise<string | null> => {
      try {
        const used = await areaBytes(quota.dir, quota.bytes);
        return used > quota.bytes ? `outputs/ grew past its quota of ${quota.bytes} bytes` : null;
      } catch {
        return "outputs/ could not be measured against its quota"; // fail closed
      }
    };
    const timer = setTimeout(() => stop("timed_out", `killed at its timeout of ${spec.timeoutMs} ms`), spec.timeoutMs);
    let poll: NodeJS.Timeout | undefined;
    const watch = () => {
      poll = setTimeout(async () => {
        const over = await overQuota();
        if (over) stop("quota_exceeded", over);
        else if (!exited) watch();
      }, quota.pollMs ?? QUOTA_POLL_MS);
    };
    watch();
    const onCancel = () => stop("cancelled", "cancelled: the task was asked to stop");
    if (spec.cancel.aborted) onCancel();
    else spec.cancel.addEventListener("abort", onCancel, { once: true });

    child.stdout!.on("data", (c: Buffer) => spec.output.stdout.push(c));
    child.stderr!.on("data", (c: Buffer) => spec.output.stderr.push(c));
    let settled = false;
    const finish = (r: RunResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(poll);
      spec.cancel.removeEventListener("abort", onCancel);
      resolve(r);
    };
    child.once("error", (err: NodeJS.ErrnoException) => {
      if (exited) return;
      exited = true;
      const reason = `the command could not be started (${err.code ?? "error"})`;
      finish({ outcome: "failed", exitCode: null, signal: null, reason, startedAt, finishedAt: new Date() });
    });
    let leftovers: Promise<void> = Promise.resolve();
    let grace: NodeJS.Timeout | undefined;
    child.once("exit", () => {
      exited = true;
      clearTimeout(timer);
      if (pid !== undefined) leftovers = killJob(pid, spec.uid); // whatever it left running
      // A leftover that kept the pipes open must not hold the result forever.
      grace = setTimeout(() => {
        child.stdout!.destroy();
        child.stderr!.destroy();
      }, STDIO_GRACE_MS);
    });
    child.once("close", async (exitCode: number | null, signal: NodeJS.Signals | null) => {
      clearTimeout(grace);
      if (settled) return;
      await leftovers;
      const finishedAt = new Date();
      // A job can write past the quota between two polls and exit: it still does not succeed.
      if (!killed) {
        const over = await overQuota();
        if (over) killed = { outcome: "quota_exceeded", reason: over };
      }
      const k = killed as { outcome: AgentOutcome; reason: string } | null;
      if (k) {
        finish({ outcome: k.outcome, exitCode, signal, reason: k.reason, startedAt, finishedAt });
        return;
      }
      const outcome: AgentOutcome = exitCode === 0 ? "succeeded" : "failed";
      const reason = signal ? `ended by signal ${signal}` : undefined;
      finish({ outcome, exitCode, signal, ...(reason ? { reason } : {}), startedAt, finishedAt });
    });
  });
}

/**
 * Runs one job of a workspace: `prlimit` sets the job's rlimits, then execs bubblewrap (or, in the unsafe
 * development mode, the command itself). The job is the leader of its own process group, so a timeout,
 * a cancel or a blown outputs quota kills everything it started; stdout and stderr keep only their tail.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, lstatSync, openSync } from "node:fs";
import { setPriority } from "node:os";
import { join } from "node:path";
import {
  BWRAP_INSTALL,
  bwrapArgs,
  bwrapPath,
  bwrapRecentEnough,
  bwrapVersion,
  findExecutable,
  hostSystemDirs,
  MIN_BWRAP_VERSION,
  SANDBOX_ENV,
} from "./bwrap";
import { treeBytes } from "./disk-usage";
import { shieldFds } from "./inherited-fds";
import {
  type Isolation,
  type ResolvedJob,
  type RunningJob,
  resolveJob,
  SandboxError,
  type SandboxJob,
  type SandboxOutcome,
  type SandboxResult,
} from "./job";
import { prlimitArgs } from "./limits";
import { killJob } from "./processes";
import { TailBuffer } from "./tail-buffer";

/** How often the size of outputs/ is measured. */
export const QUOTA_POLL_MS = 250;

/**
 * Jobs run 10 nice levels below the controller so a busy job (a fork bomb up to its nproc cap) cannot
 * starve the controller's event loop. Set by `nice` (coreutils) in the exec chain so it holds from the
 * job's first instruction; where `nice` is missing, by setpriority right after spawn, which a job that
 * forks at once could outrun.
 */
export const JOB_NICENESS = 10;

/** After the job's top process exits, how long to wait for its pipes to drain before closing them. */
const STDIO_GRACE_MS = 1000;

type KillReason = Exclude<SandboxOutcome, "succeeded" | "failed">;

function assertWorkspace(root: string): void {
  for (const area of ["data", "home", "outputs"]) {
    const path = join(root, area);
    let isDir = false;
    try {
      isDir = lstatSync(path).isDirectory(); // lstat: a symlink could point the bind mount anywhere
    } catch {}
    if (!isDir) {
      throw new SandboxError(
        "sandbox.invalid_job",
        `${path} must be a directory, not missing or a symlink: the workspace root holds data/, home/ and outputs/`,
      );
    }
  }
}

/** The uid/gid to spawn with; never root, since rlimits, file permissions and NPROC do not bind root. */
function identity(job: ResolvedJob): { uid?: number; gid?: number } {
  const self = process.getuid?.() ?? -1;
  const uid = job.uid ?? self;
  const gid = job.gid ?? job.uid;
  if (uid === 0 || gid === 0) {
    throw new SandboxError(
      "sandbox.runs_as_root",
      "refusing to run a job as root: give the job a uid (and gid) of its own, e.g. one per workspace",
    );
  }
  if (job.uid === undefined || job.uid === self) return {};
  if (self !== 0) {
    throw new SandboxError(
      "sandbox.invalid_job",
      `uid ${job.uid} needs a controller running as root (it runs as uid ${self}): leave uid unset`,
    );
  }
  return { uid: job.uid, gid: gid ?? job.uid };
}

/** The host binaries a job runs through. */
export interface SandboxTools {
  prlimit: string;
  /** null: coreutils `nice` is missing, the job is reniced right after spawn instead. */
  nice: string | null;
  /** null for `isolation: "none"`. */
  bwrap: string | null;
}

/**
 * Checks that this host can run jobs with `isolation`, for the runtime's availability check at startup.
 * @throws SandboxError `sandbox.prlimit_missing` or `sandbox.bubblewrap_missing` (absent or older than
 * {@link MIN_BWRAP_VERSION}), with the command that fixes it.
 */
export function assertSandboxAvailable(isolation: Isolation): SandboxTools {
  const prlimit = findExecutable("prlimit");
  if (!prlimit) {
    throw new SandboxError("sandbox.prlimit_missing", "prlimit is not installed: apt-get install -y util-linux");
  }
  const tools = { prlimit, nice: findExecutable("nice"), bwrap: null };
  if (isolation === "none") return tools;
  const bwrap = bwrapPath();
  if (!bwrap) throw new SandboxError("sandbox.bubblewrap_missing", `bubblewrap is not installed: ${BWRAP_INSTALL}`);
  const version = bwrapVersion(bwrap);
  if (!version || !bwrapRecentEnough(version)) {
    throw new SandboxError(
      "sandbox.bubblewrap_missing",
      `${bwrap} is bubblewrap ${version?.join(".") ?? "of unknown version"}, jobs need ${MIN_BWRAP_VERSION.join(".")} ` +
        `or later: ${BWRAP_INSTALL} (from a newer release or backports)`,
    );
  }
  return { ...tools, bwrap };
}

interface Launch {
  file: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  niced: boolean;
}

/** What to spawn: prlimit, nice, then bubblewrap or (unsafe) the command itself. */
function launch(job: ResolvedJob): Launch {
  const { prlimit, nice, bwrap } = assertSandboxAvailable(job.isolation);
  const limited = (argv: string[]) => [
    ...prlimitArgs(job),
    "--",
    ...(nice ? [nice, "-n", String(JOB_NICENESS), "--"] : []),
    ...argv,
  ];
  if (!bwrap) {
    return {
      file: prlimit,
      args: limited(job.command),
      cwd: job.root,
      env: { ...SANDBOX_ENV, HOME: join(job.root, "home") },
      niced: nice !== null,
    };
  }
  return {
    file: prlimit,
    args: limited([bwrap, ...bwrapArgs(job, hostSystemDirs())]),
    cwd: "/",
    env: { PATH: SANDBOX_ENV.PATH! }, // bwrap --clearenv sets the job's own
    niced: nice !== null,
  };
}

/** Spawns the job's top process with nothing of the controller but the two log pipes. */
function start(job: ResolvedJob): ChildProcess {
  const ids = identity(job);
  const { file, args, cwd, env, niced } = launch(job);
  const devNull = openSync("/dev/null", "r");
  try {
    const child = spawn(file, args, {
      cwd,
      env,
      detached: true, // its own process group (and session), so it can be killed as a whole
      stdio: ["ignore", "pipe", "pipe", ...shieldFds(devNull)],
      ...ids,
    });
    if (child.pid === undefined) {
      child.once("error", () => {}); // the reason arrives on the next tick; the throw below reports it
      throw new SandboxError("sandbox.spawn_failed", `could not start ${file} (out of processes or memory?)`);
    }
    if (!niced) {
      try {
        setPriority(child.pid, JOB_NICENESS);
      } catch {} // best effort: the limits, not the priority, are the containment
    }
    return child;
  } finally {
    closeSync(devNull);
  }
}

/**
 * Starts a job in its sandbox and returns at once; `result` settles when it and all it started are gone.
 *
 * With `isolation: "none"` (`SPE_RUNTIME=unsafe-process`) the command runs directly on the host with
 * cwd = root and the same limits, timeout, kill and log handling, but no namespaces: it sees the whole
 * file system and network its uid can reach, and a process that both leaves the process group and
 * detaches from the job's process tree survives the job. It is for development only.
 *
 * @throws SandboxError `sandbox.invalid_job` (bad field, or root lacking data/, home/, outputs/),
 * `sandbox.runs_as_root` (the job would run as uid or gid 0), `sandbox.bubblewrap_missing`,
 * `sandbox.prlimit_missing`, `sandbox.spawn_failed`.
 * @example
 * const job = runSandboxed({ root, command: ["python3", "home/a.py"], timeoutMs: 600_000, memoryMiB: 2048,
 *   uid: 100123, isolation: "bubblewrap" });
 * const { outcome, exitCode, stdout } = await job.result;
 */
export function runSandboxed(input: SandboxJob): RunningJob {
  const job = resolveJob(input);
  assertWorkspace(job.root);
  const startedAt = new Date();
  const child = start(job);
  const pid = child.pid!;

  const stdout = new TailBuffer(job.logBytes);
  const stderr = new TailBuffer(job.logBytes);
  child.stdout!.on("data", (chunk: Buffer) => stdout.push(chunk));
  child.stderr!.on("data", (chunk: Buffer) => stderr.push(chunk));

  let exited = false;
  let reason: KillReason | undefined;
  let note: string | undefined;
  const stop = (why: KillReason, message: string) => {
    if (exited || reason) return;
    reason = why;
    note = message;
    try {
      killJob(pid, true);
    } catch (err) {
      note += `; killing it failed: ${(err as Error).message}`;
    }
  };

  const timer = setTimeout(() => stop("timed_out", `killed at its timeout of ${job.timeoutMs} ms`), job.timeoutMs);
  const quota = job.outputsQuotaBytes;
  const outputs = join(job.root, "outputs");
  const overQuota = async (): Promise<string | null> => {
    try {
      const used = await treeBytes(outputs, quota);
      return used > quota ? `outputs/ holds over ${used} bytes, more than its quota of ${quota}` : null;
    } catch (err) {
      // Fail closed: a job that makes its outputs unmeasurable does not get an unchecked quota.
      return `outputs/ could not be measured (${(err as NodeJS.ErrnoException).code ?? err})`;
    }
  };
  let poll: NodeJS.Timeout | undefined;
  const watch = () => {
    poll = setTimeout(async () => {
      const over = await overQuota();
      if (over) stop("quota_exceeded", over);
      else if (!exited) watch();
    }, QUOTA_POLL_MS);
  };
  watch();

  const result = new Promise<SandboxResult>((resolve, reject) => {
    child.once("error", (err) => {
      if (exited) return;
      exited = true;
      clearTimeout(timer);
      clearTimeout(poll);
      reject(new SandboxError("sandbox.spawn_failed", `sandbox process ${pid} failed: ${err.message}`));
    });
    child.once("exit", () => {
      exited = true;
      clearTimeout(timer);
      // Without a pid namespace, what the job left running in its group would outlive it.
      if (job.isolation === "none") {
        try {
          killJob(pid, false);
        } catch {} // nothing left to kill
      }
      // A leftover that kept the pipes open (it escaped the group) must not hold the result forever.
      const grace = setTimeout(() => {
        child.stdout!.destroy();
        child.stderr!.destroy();
      }, STDIO_GRACE_MS);
      child.once("close", async (exitCode, signal) => {
        clearTimeout(grace);
        clearTimeout(poll);
        if (!reason) {
          // A job can write past the quota between two polls and exit: it still does not succeed.
          const over = await overQuota();
          if (over) [reason, note] = ["quota_exceeded", over];
        }
        if (note) stderr.note(`[spe: ${note}]`);
        resolve({
          exitCode,
          signal,
          outcome: reason ?? (exitCode === 0 ? "succeeded" : "failed"),
          stdout: stdout.toString(),
          stderr: stderr.toString(),
          startedAt,
          finishedAt: new Date(),
        });
      });
    });
  });

  return { pid, result, cancel: () => stop("cancelled", "cancelled") };
}

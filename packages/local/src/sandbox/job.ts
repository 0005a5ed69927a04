/**
 * What a sandboxed job is: its input and result types, the defaults and the validation every job passes
 * before anything is spawned. Pure (no file system), so the bubblewrap argument builder can share it.
 */
import { isAbsolute, normalize } from "node:path";

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/** `bubblewrap`: namespaces and a minimal read-only system view. `none`: unsafe development mode. */
export type Isolation = "bubblewrap" | "none";

/** How a job ended. The kill reasons win over the exit status: a job killed at its timeout is `timed_out`. */
export type SandboxOutcome = "succeeded" | "failed" | "timed_out" | "cancelled" | "quota_exceeded";

export interface SandboxJob {
  /** The workspace's directory holding `data/` (read-only in the sandbox), `home/` and `outputs/` (writable). */
  root: string;
  /** argv, run without a shell; `command[0]` is looked up in `PATH=/usr/bin:/bin`. */
  command: string[];
  /** Wall-clock limit; the job is killed with everything it started and ends `timed_out`. */
  timeoutMs: number;
  /**
   * Memory the job may allocate, in MiB. Enforced as RLIMIT_AS (address space), which is this value plus
   * {@link ADDRESS_SPACE_HEADROOM_MIB} for the interpreter's own mappings.
   */
  memoryMiB: number;
  /** RLIMIT_NPROC: processes and threads of the job's uid. @default 128 */
  maxProcesses?: number;
  /** Total size of `outputs/`; over it the job is killed and ends `quota_exceeded`. @default 1 GiB */
  outputsQuotaBytes?: number;
  /** RLIMIT_FSIZE: the largest file the job can write anywhere. @default outputsQuotaBytes */
  maxFileBytes?: number;
  /** Size of the sandbox's private `/tmp` (a tmpfs, so it is memory). @default 256 MiB */
  tmpBytes?: number;
  /** Run as this user and group (required when the controller runs as root). `gid` defaults to `uid`. */
  uid?: number;
  gid?: number;
  isolation: Isolation;
  /** Keep the last this many bytes of stdout and of stderr. @default 1 MiB */
  logBytes?: number;
}

export interface SandboxResult {
  /**
   * The exit status, or null when the sandbox was killed by a signal. Under bubblewrap a command that
   * dies of signal N inside reports 128 + N, as a shell would (a segfault: 139), with `signal` null.
   */
  exitCode: number | null;
  /** The signal that ended the top process (`SIGKILL` after a timeout, cancel or quota kill), else null. */
  signal: string | null;
  outcome: SandboxOutcome;
  /** The last `logBytes` bytes (lossy UTF-8), prefixed with a marker line when earlier bytes were dropped. */
  stdout: string;
  /** As stdout; the sandbox appends a `[spe: ...]` line saying why it killed the job, if it did. */
  stderr: string;
  startedAt: Date;
  finishedAt: Date;
}

export interface RunningJob {
  /** Process id of the sandbox's top process (leader of the job's process group). */
  readonly pid: number;
  /** Settles once the job and every process it started are gone. Rejects only if the sandbox broke. */
  readonly result: Promise<SandboxResult>;
  /** Kills the job and everything it started; the result's outcome is `cancelled`. No-op once it ended. */
  cancel(): void;
}

/** Defaults, exported so callers and docs quote the same numbers. */
export const SANDBOX_DEFAULTS = {
  maxProcesses: 128,
  outputsQuotaBytes: GiB,
  tmpBytes: 256 * MiB,
  logBytes: MiB,
} as const;

/**
 * Added to `memoryMiB` for RLIMIT_AS. RLIMIT_AS counts every mapping, not only what the job allocates:
 * the interpreter, its shared libraries, 8 MiB of stack per thread. python3.11 starts at about 22 MiB and
 * R at a few hundred; 256 MiB keeps `memoryMiB` close to "what the script may allocate" for both.
 */
export const ADDRESS_SPACE_HEADROOM_MIB = 256;

/** setTimeout's range: a longer delay would fire at once. */
const MAX_TIMEOUT_MS = 2_147_483_647;

/** Stable codes, so the runtime can map them (`sandbox.bubblewrap_missing` is a 503 with a fix). */
export type SandboxErrorCode =
  | "sandbox.invalid_job"
  | "sandbox.runs_as_root"
  | "sandbox.bubblewrap_missing"
  | "sandbox.prlimit_missing"
  | "sandbox.spawn_failed";

export class SandboxError extends Error {
  constructor(
    readonly code: SandboxErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "SandboxError";
  }
}

/** A job with every default filled in. */
export type ResolvedJob = Required<Omit<SandboxJob, "uid" | "gid">> & Pick<SandboxJob, "uid" | "gid">;

const invalid = (message: string) => new SandboxError("sandbox.invalid_job", message);

function integer(name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(`${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

/**
 * Checks a job and fills in its defaults.
 * @throws SandboxError `sandbox.invalid_job` naming the bad field and value.
 */
export function resolveJob(job: SandboxJob): ResolvedJob {
  const { root, command } = job;
  if (typeof root !== "string" || root.includes("\0") || !isAbsolute(root)) {
    throw invalid(`root must be an absolute path without NUL bytes, got ${JSON.stringify(root)}`);
  }
  if (!Array.isArray(command) || command.length === 0 || command[0] === "") {
    throw invalid(`command must be a non-empty argv array, got ${JSON.stringify(command)}`);
  }
  command.forEach((arg, i) => {
    // A NUL would silently cut the argument short in execve: refuse rather than run something else.
    if (typeof arg !== "string" || arg.includes("\0")) {
      throw invalid(`command[${i}] must be a string without NUL bytes, got ${JSON.stringify(arg)}`);
    }
  });
  if (job.isolation !== "bubblewrap" && job.isolation !== "none") {
    throw invalid(`isolation must be "bubblewrap" or "none", got ${JSON.stringify(job.isolation)}`);
  }
  const outputsQuotaBytes = integer(
    "outputsQuotaBytes",
    job.outputsQuotaBytes ?? SANDBOX_DEFAULTS.outputsQuotaBytes,
    1,
  );
  return {
    root: normalize(root).replace(/(.)\/$/, "$1"),
    command: [...command],
    timeoutMs: integer("timeoutMs", job.timeoutMs, 1, MAX_TIMEOUT_MS),
    memoryMiB: integer("memoryMiB", job.memoryMiB, 1, 1024 * 1024),
    maxProcesses: integer("maxProcesses", job.maxProcesses ?? SANDBOX_DEFAULTS.maxProcesses, 1),
    outputsQuotaBytes,
    maxFileBytes: integer("maxFileBytes", job.maxFileBytes ?? outputsQuotaBytes, 1),
    tmpBytes: integer("tmpBytes", job.tmpBytes ?? SANDBOX_DEFAULTS.tmpBytes, MiB),
    logBytes: integer("logBytes", job.logBytes ?? SANDBOX_DEFAULTS.logBytes, 0),
    isolation: job.isolation,
    uid: job.uid === undefined ? undefined : integer("uid", job.uid, 0, 0xfffffffe),
    gid: job.gid === undefined ? undefined : integer("gid", job.gid, 0, 0xfffffffe),
  };
}

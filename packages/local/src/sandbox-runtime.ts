/**
 * WorkspaceRuntime for one node. Each workspace is a directory `<runDir>/<id>` holding `data/` (the
 * decrypted, pseudonymised staged files, read-only), `home/` and `outputs/`. The run directory is
 * memory-backed by default (/dev/shm), so plaintext never reaches the disk and does not survive a reboot.
 * Jobs run under bubblewrap (see ./sandbox); when the controller runs as root, each workspace gets its own
 * unprivileged uid, so process limits are per workspace and workspaces cannot read each other's files.
 */
import { createHash } from "node:crypto";
import { chmod, chown, lstat, mkdir, open, readdir, rm, stat, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import {
  type JobResult,
  type JobSpec,
  type OutputFile,
  type StagedFile,
  UnavailableError,
  ValidationError,
  type WorkspaceRuntime,
  type WorkspaceSpec,
} from "@spe/core";
import {
  assertSandboxAvailable,
  BWRAP_INSTALL,
  type RunningJob,
  runSandboxed,
  SandboxError,
  type SandboxResult,
} from "./sandbox";
import { listArea, readInside, statInside } from "./workspace-files";

const SAFE_ID = /^ws-[0-9a-z]+$/;
const UPLOAD_TIMEOUT_MS = 20_000;

export interface SandboxRuntimeOptions {
  /** Where workspaces live (memory-backed by default). */
  runDir: string;
  isolation: "bubblewrap" | "none";
  outputsQuotaBytes: number;
  /** Where bubblewrap is; null when missing. @default looked up on the system PATH */
  bwrapPath?: string | null;
  /** Called once per started job when it ends, whatever the reason. */
  onJobFinished: (workspaceId: string, jobId: string, result: JobResult) => void;
}

/** A stable unprivileged uid per workspace, when we are root and can switch to one. */
function workspaceUid(workspaceId: string): number | undefined {
  if (process.getuid?.() !== 0) return undefined;
  return 200_000 + (createHash("sha256").update(workspaceId).digest().readUInt32BE(0) % 800_000);
}

/**
 * Moves an uploaded file into place from inside the workspace's own sandbox, where a symlink planted by
 * a job resolves in the sandbox's view and cannot reach the host. $1 target, $2 home root, $3 inbox file.
 */
const PLACE_UPLOAD = [
  "set -e",
  't=$(realpath -m -- "$1")',
  'case "$t" in "$2"/*) ;; *) rm -f -- "$3"; exit 3 ;; esac',
  '[ -d "$t" ] && { rm -f -- "$3"; exit 4; }',
  'mkdir -p -- "$(dirname -- "$t")"',
  'mv -f -- "$3" "$t"',
].join("\n");

export class SandboxRuntime implements WorkspaceRuntime {
  readonly isolation: "bubblewrap" | "none";
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly jobs = new Map<string, Map<string, RunningJob>>();
  private available = false;

  constructor(private readonly opts: SandboxRuntimeOptions) {
    this.isolation = opts.isolation;
  }

  assertAvailable(): void {
    if (this.available) return;
    const unavailable = (why: string) =>
      new UnavailableError("runtime.unavailable", `workspaces cannot be run on this node: ${why}; then retry`);
    if (this.isolation === "bubblewrap" && this.opts.bwrapPath === null) {
      throw unavailable(`bubblewrap is not installed, so jobs cannot be isolated: run \`${BWRAP_INSTALL}\` as root`);
    }
    try {
      assertSandboxAvailable(this.isolation);
    } catch (err) {
      if (err instanceof SandboxError) throw unavailable(err.message);
      throw err;
    }
    this.available = true; // the tools do not go away while we run; checking spawns `bwrap --version`
  }

  private dir(workspaceId: string): string {
    if (!SAFE_ID.test(workspaceId)) throw new Error(`invalid workspace id ${JSON.stringify(workspaceId)}`);
    return join(this.opts.runDir, workspaceId);
  }

  /** Start and stop of one workspace never interleave. */
  private serialised<T>(workspaceId: string, op: () => Promise<T>): Promise<T> {
    const run = (this.queues.get(workspaceId) ?? Promise.resolve()).then(op, op);
    const settled = run.catch(() => {});
    this.queues.set(workspaceId, settled);
    void settled.then(() => {
      if (this.queues.get(workspaceId) === settled) this.queues.delete(workspaceId);
    });
    return run;
  }

  start(spec: WorkspaceSpec, data: StagedFile[]): Promise<void> {
    const dir = this.dir(spec.workspaceId);
    const uid = workspaceUid(spec.workspaceId);
    return this.serialised(spec.workspaceId, async () => {
      await ensureRunDir(this.opts.runDir);
      await wipe(dir); // a half-built view from an interrupted start
      // The workspace directory stays ours (a job's uid owning it could swap its areas for symlinks);
      // its user may only traverse it to reach its areas.
      await mkdir(dir, { mode: 0o700 });
      await chmod(dir, uid === undefined ? 0o700 : 0o711);
      for (const area of ["data", "home", "outputs"]) await mkdir(join(dir, area), { mode: 0o700 });
      for (const file of data) await writeDataFile(join(dir, "data"), file);
      // data/: readable by the workspace's group only (its uid's own group), never writable, never by others.
      await seal(join(dir, "data"), 0o550, 0o440, uid);
      if (uid !== undefined) {
        for (const p of [join(dir, "home"), join(dir, "outputs")]) await chown(p, uid, uid);
      }
    });
  }

  async stopJobs(workspaceId: string): Promise<void> {
    const running = [...(this.jobs.get(workspaceId)?.values() ?? [])];
    for (const j of running) j.cancel();
    await Promise.allSettled(running.map((j) => j.result));
  }

  stop(workspaceId: string): Promise<void> {
    const dir = this.dir(workspaceId);
    return this.serialised(workspaceId, async () => {
      await this.stopJobs(workspaceId);
      await wipe(dir);
    });
  }

  async exists(workspaceId: string): Promise<boolean> {
    return stat(this.dir(workspaceId)).then(
      () => true,
      () => false,
    );
  }

  private sandboxed(workspaceId: string, command: string[], timeoutMs: number, memoryMiB: number): RunningJob {
    const uid = workspaceUid(workspaceId);
    return runSandboxed({
      root: this.dir(workspaceId),
      command,
      timeoutMs,
      memoryMiB,
      outputsQuotaBytes: this.opts.outputsQuotaBytes,
      isolation: this.isolation,
      ...(uid === undefined ? {} : { uid, gid: uid }),
    });
  }

  async startJob(spec: JobSpec): Promise<void> {
    this.assertAvailable();
    if (!(await this.exists(spec.workspaceId))) {
      throw new UnavailableError("runtime.workspace_missing", `workspace ${spec.workspaceId} is not running here`);
    }
    const job = this.sandboxed(spec.workspaceId, spec.command, spec.timeoutSeconds * 1000, spec.memoryMiB);
    const jobs = this.jobs.get(spec.workspaceId) ?? new Map<string, RunningJob>();
    jobs.set(spec.jobId, job);
    this.jobs.set(spec.workspaceId, jobs);
    void job.result
      .then(
        (r: SandboxResult) => toJobResult(r, spec.timeoutSeconds, this.opts.outputsQuotaBytes),
        (err: unknown): JobResult => {
          const now = new Date().toISOString();
          const reason = `the sandbox failed: ${err instanceof Error ? err.message : String(err)}`;
          return { outcome: "failed", exitCode: null, reason, stdout: "", stderr: "", startedAt: now, finishedAt: now };
        },
      )
      .then((result: JobResult) => {
        jobs.delete(spec.jobId);
        if (jobs.size === 0) this.jobs.delete(spec.workspaceId);
        this.opts.onJobFinished(spec.workspaceId, spec.jobId, result);
      });
  }

  /** Kills every job of every workspace (node shutdown); their workspaces stay for the next start. */
  async shutdown(): Promise<void> {
    await Promise.allSettled([...this.jobs.keys()].map((id) => this.stopJobs(id)));
  }

  jobRunning(workspaceId: string, jobId: string): boolean {
    return this.jobs.get(workspaceId)?.has(jobId) ?? false;
  }

  async writeHome(workspaceId: string, path: string, bytes: Uint8Array): Promise<void> {
    const home = join(this.dir(workspaceId), "home");
    // The inbox file is created by us directly in home/ (which no job can replace: it is a mount point
    // in every sandbox and its parent is not visible to any), then moved into place from inside the sandbox.
    const inbox = `.spe-upload-${Math.random().toString(36).slice(2)}`;
    const fh = await open(join(home, inbox), "wx", 0o600);
    try {
      await fh.writeFile(bytes);
      await fh.sync();
      const uid = workspaceUid(workspaceId);
      if (uid !== undefined) await fh.chown(uid, uid);
    } finally {
      await fh.close();
    }
    const inSandbox = this.isolation === "bubblewrap";
    const homeRoot = inSandbox ? "/workspace/home" : home;
    const job = this.sandboxed(
      workspaceId,
      ["/bin/sh", "-c", PLACE_UPLOAD, "sh", `${homeRoot}/${path}`, homeRoot, `${homeRoot}/${inbox}`],
      UPLOAD_TIMEOUT_MS,
      256,
    );
    const r = await job.result;
    if (r.outcome === "succeeded") return;
    await unlink(join(home, inbox)).catch(() => {});
    if (r.exitCode === 3 || r.exitCode === 4) {
      const why = r.exitCode === 3 ? "it leads outside home/ through a symlink" : "a directory has that name";
      throw new ValidationError("file.path_escape", `cannot write ${path}: ${why}`, [{ path: "path", message: why }]);
    }
    throw new Error(`placing the upload failed (${r.outcome}, exit ${r.exitCode}): ${r.stderr.slice(-500)}`);
  }

  listFiles(workspaceId: string, dir: "outputs" | "home"): Promise<OutputFile[]> {
    return listArea(join(this.dir(workspaceId), dir));
  }

  statOutput(workspaceId: string, path: string) {
    return statInside(join(this.dir(workspaceId), "outputs"), path);
  }

  readOutput(workspaceId: string, path: string): AsyncIterable<Uint8Array> {
    return readInside(join(this.dir(workspaceId), "outputs"), path);
  }
}

function toJobResult(r: SandboxResult, timeoutSeconds: number, quota: number): JobResult {
  const base = {
    exitCode: r.exitCode,
    stdout: r.stdout,
    stderr: r.stderr,
    startedAt: r.startedAt.toISOString(),
    finishedAt: r.finishedAt.toISOString(),
  };
  switch (r.outcome) {
    case "timed_out":
      return { ...base, outcome: "timed_out", reason: `killed after its timeout of ${timeoutSeconds} s` };
    case "quota_exceeded":
      return { ...base, outcome: "failed", reason: `killed: outputs/ grew past its quota of ${quota} bytes` };
    case "cancelled":
      return { ...base, outcome: "cancelled", reason: "cancelled" };
    case "failed":
      return { ...base, outcome: "failed", ...(r.signal ? { reason: `ended by signal ${r.signal}` } : {}) };
    default:
      return { ...base, outcome: "succeeded" };
  }
}

/** Writes one decrypted staged file under `data/`; memory stays flat whatever its size. */
async function writeDataFile(dataDir: string, file: StagedFile): Promise<void> {
  const path = join(dataDir, ...file.path.split("/"));
  await mkdir(dirname(path), { recursive: true, mode: 0o755 });
  const fh = await open(path, "wx", 0o400);
  try {
    for await (const chunk of file.open()) {
      let at = 0;
      while (at < chunk.byteLength) at += (await fh.write(chunk, at, chunk.byteLength - at)).bytesWritten;
    }
  } finally {
    await fh.close();
  }
}

/** Makes data/ read-only: directories `dirMode`, files `fileMode`, group `gid` (when given). */
async function seal(dir: string, dirMode: number, fileMode: number, gid?: number): Promise<void> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await seal(p, dirMode, fileMode, gid);
    else {
      if (gid !== undefined) await chown(p, 0, gid);
      await chmod(p, fileMode);
    }
  }
  if (gid !== undefined) await chown(dir, 0, gid);
  await chmod(dir, dirMode);
}

/**
 * Creates the run directory, or accepts an existing one only if it is a real directory owned by us: in a
 * world-writable place like /dev/shm another local user could otherwise create it first and own every
 * workspace's parent.
 * @throws when it exists but is a symlink, not a directory, or someone else's.
 */
export async function ensureRunDir(runDir: string): Promise<void> {
  await mkdir(dirname(runDir), { recursive: true, mode: 0o700 });
  await mkdir(runDir, { mode: 0o700 }).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== "EEXIST") throw err;
  });
  const s = await lstat(runDir);
  const me = process.getuid?.();
  if (!s.isDirectory() || (me !== undefined && s.uid !== me)) {
    throw new Error(
      `refusing to use ${runDir} for workspaces: it is ${s.isSymbolicLink() ? "a symlink" : s.isDirectory() ? `owned by uid ${s.uid}` : "not a directory"}; remove it or set SPE_RUN_DIR to a directory only this user can create`,
    );
  }
  await chmod(runDir, me === 0 ? 0o711 : 0o700);
}

/** Removes a workspace directory, including its read-only data/ (which a non-root owner could not unlink). */
async function wipe(dir: string): Promise<void> {
  await seal(join(dir, "data"), 0o700, 0o600).catch(() => {});
  await rm(dir, { recursive: true, force: true });
}

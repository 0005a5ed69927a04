/**
 * The bubblewrap command line of a job: which namespaces it gets and exactly which host paths it sees.
 * `bwrapArgs` is pure so the whole view of the host can be asserted in a unit test.
 */
import { execFileSync } from "node:child_process";
import { accessSync, constants, lstatSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { resolveJob, type SandboxJob } from "./job";

/** The command to tell an operator whose machine lacks bubblewrap (Debian/Ubuntu). */
export const BWRAP_INSTALL = "apt-get install -y bubblewrap";

/**
 * Where executables are looked up. Deliberately not the controller's `PATH`: a writable directory early
 * in it could shadow the binary that enforces the isolation.
 */
export const SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Where the workspace appears inside the sandbox; also the job's working directory. */
export const SANDBOX_WORKSPACE = "/workspace";

/** The whole environment of a sandboxed job. */
export const SANDBOX_ENV: Readonly<Record<string, string>> = {
  PATH: "/usr/bin:/bin",
  HOME: `${SANDBOX_WORKSPACE}/home`,
  LANG: "C.UTF-8",
  TMPDIR: "/tmp",
  // Every thread's malloc arena reserves 64 MiB of address space, which RLIMIT_AS counts although
  // nothing is used: a threaded job would hit its memory limit long before using the memory.
  MALLOC_ARENA_MAX: "2",
};

/** /dev/shm is a tmpfs (memory); POSIX semaphores (Python multiprocessing) need it, not much of it. */
export const SHM_BYTES = 64 * 1024 * 1024;

/**
 * The /etc files interpreters read, bound only if present. ld.so.cache: libraries outside the default
 * search path (BLAS variants). alternatives: /usr/bin/* links through it. localtime: local time zone.
 * R: R_HOME/etc is a link to /etc/R on Debian. Not passwd, group, hosts, resolv.conf, ssl: python3
 * starts without them (R was not installed where this was written), and without network there is
 * nothing to resolve or verify.
 */
export const ETC_FILES = ["/etc/ld.so.cache", "/etc/alternatives", "/etc/localtime", "/etc/R"] as const;

/** How the host's top-level system directories are laid out: a merged-usr link or a directory. */
export type SystemDirs = ReadonlyArray<{ path: string; linkTo?: string }>;

/** Debian 12 / Ubuntu / Fedora: /bin, /lib, /lib64 and /sbin are links into /usr. */
export const MERGED_USR: SystemDirs = [
  { path: "/bin", linkTo: "usr/bin" },
  { path: "/lib", linkTo: "usr/lib" },
  { path: "/lib64", linkTo: "usr/lib64" },
  { path: "/sbin", linkTo: "usr/sbin" },
];

let hostDirs: SystemDirs | undefined;

/** The host's layout of /bin, /lib, /lib64 and /sbin (absent ones are left out), read once. */
export function hostSystemDirs(): SystemDirs {
  hostDirs ??= MERGED_USR.flatMap(({ path }) => {
    try {
      const st = lstatSync(path);
      if (st.isSymbolicLink()) return [{ path, linkTo: readlinkSync(path) }];
      return st.isDirectory() ? [{ path }] : [];
    } catch {
      return [];
    }
  });
  return hostDirs;
}

/** The first executable `name` in `searchPath`, or null. */
export function findExecutable(name: string, searchPath = SYSTEM_PATH): string | null {
  for (const dir of searchPath.split(":")) {
    if (!dir.startsWith("/")) continue; // a relative PATH entry resolves against whatever the cwd is
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      if (lstatSync(candidate).isDirectory()) continue;
      return candidate;
    } catch {}
  }
  return null;
}

/**
 * The bubblewrap binary, or null when it is not installed (tell the operator {@link BWRAP_INSTALL}).
 * @param searchPath where to look, `:`-separated. @default SYSTEM_PATH
 */
export function bwrapPath(searchPath = SYSTEM_PATH): string | null {
  return findExecutable("bwrap", searchPath);
}

/** The oldest bubblewrap with `--size` (capped tmpfs) and `--disable-userns`: Debian 12, Ubuntu 24.04. */
export const MIN_BWRAP_VERSION = [0, 8, 0] as const;

const versions = new Map<string, number[] | null>();

/** `bwrap --version` of the binary at `path` as [major, minor, patch], or null if it cannot say. Cached. */
export function bwrapVersion(path: string): number[] | null {
  if (!versions.has(path)) {
    let version: number[] | null = null;
    try {
      const out = execFileSync(path, ["--version"], { encoding: "utf8", timeout: 5000, env: {} });
      const m = /(\d+)\.(\d+)\.(\d+)/.exec(out);
      if (m) version = m.slice(1).map(Number);
    } catch {}
    versions.set(path, version);
  }
  return versions.get(path) ?? null;
}

/** Whether `version` is at least {@link MIN_BWRAP_VERSION}. */
export function bwrapRecentEnough(version: readonly number[]): boolean {
  for (let i = 0; i < MIN_BWRAP_VERSION.length; i++) {
    const have = version[i] ?? 0;
    if (have !== MIN_BWRAP_VERSION[i]) return have > MIN_BWRAP_VERSION[i]!;
  }
  return true;
}

/**
 * The bubblewrap options of a job (everything between `bwrap` and `--`).
 *
 * New user, pid, network, ipc, uts and cgroup namespaces (the network namespace has only a loopback
 * that is down), with the command as the pid namespace's init; no nested user namespaces; a read-only root holding only /usr, the merged-usr links,
 * {@link ETC_FILES}, a fresh /proc and /dev, size-capped /tmp and /dev/shm, and the workspace at
 * /workspace with data/ read-only and home/ and outputs/ writable. Nothing else of the host exists.
 *
 * @param system the host's /bin, /lib... layout. @default MERGED_USR (use `hostSystemDirs()` to detect)
 * @throws SandboxError `sandbox.invalid_job` when the job is invalid.
 */
export function bwrapOptions(job: SandboxJob, system: SystemDirs = MERGED_USR): string[] {
  const j = resolveJob(job);
  const area = (name: string) => join(j.root, name);
  return [
    "--unshare-all",
    "--unshare-user", // explicit: --disable-userns needs it, and bwrap must never run with host root
    "--disable-userns",
    // The command is the namespace's init, so bwrap reaps it and returns only once every process in the
    // namespace is gone. With bwrap's own init, that init outlives bwrap for a moment and is left for the
    // host's init to reap: a zombie per job, counted against the uid's RLIMIT_NPROC where that lags.
    "--as-pid-1",
    "--die-with-parent",
    "--new-session", // no TIOCSTI into the controller's terminal
    "--hostname",
    "spe-job",
    "--clearenv",
    ...Object.entries(SANDBOX_ENV).flatMap(([k, v]) => ["--setenv", k, v]),
    "--ro-bind",
    "/usr",
    "/usr",
    ...system.flatMap(({ path, linkTo }) => (linkTo ? ["--symlink", linkTo, path] : ["--ro-bind", path, path])),
    ...ETC_FILES.flatMap((path) => ["--ro-bind-try", path, path]),
    "--proc",
    "/proc",
    "--dev",
    "/dev",
    "--size",
    String(SHM_BYTES),
    "--tmpfs",
    "/dev/shm",
    // /dev and / are tmpfs that bwrap creates writable: left so, they are unbounded memory.
    "--remount-ro",
    "/dev",
    "--size",
    String(j.tmpBytes),
    "--tmpfs",
    "/tmp",
    "--ro-bind",
    area("data"),
    `${SANDBOX_WORKSPACE}/data`,
    "--bind",
    area("home"),
    `${SANDBOX_WORKSPACE}/home`,
    "--bind",
    area("outputs"),
    `${SANDBOX_WORKSPACE}/outputs`,
    "--remount-ro",
    "/",
    "--chdir",
    SANDBOX_WORKSPACE,
  ];
}

/**
 * The full bubblewrap command line of a job after `bwrap`: {@link bwrapOptions}, `--` (so a command that
 * looks like an option stays the command), then the command.
 * @throws SandboxError `sandbox.invalid_job` when the job is invalid.
 * @example spawn(bwrapPath()!, bwrapArgs(job, hostSystemDirs()))
 */
export function bwrapArgs(job: SandboxJob, system: SystemDirs = MERGED_USR): string[] {
  return [...bwrapOptions(job, system), "--", ...resolveJob(job).command];
}

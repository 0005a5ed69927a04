import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  bwrapArgs,
  bwrapPath,
  bwrapRecentEnough,
  bwrapVersion,
  findExecutable,
  hostSystemDirs,
  MERGED_USR,
} from "./bwrap";
import { resolveJob, type SandboxJob } from "./job";
import { prlimitArgs } from "./limits";

const job = (over: Partial<SandboxJob> = {}): SandboxJob => ({
  root: "/srv/spe/workspaces/ws-1",
  command: ["python3", "home/a.py"],
  timeoutMs: 60_000,
  memoryMiB: 512,
  isolation: "bubblewrap",
  ...over,
});

/** The host paths a bwrap argument list makes visible: sources of the bind options. */
function boundSources(args: string[]): string[] {
  const sources: string[] = [];
  args.forEach((a, i) => {
    if (/^--(ro-)?bind(-try)?$/.test(a)) sources.push(args[i + 1]!);
  });
  return sources;
}

describe("bwrapArgs", () => {
  it("builds exactly the sandbox the design describes", () => {
    expect(bwrapArgs(job())).toEqual([
      "--unshare-all",
      "--unshare-user",
      "--disable-userns",
      "--as-pid-1",
      "--die-with-parent",
      "--new-session",
      "--hostname",
      "spe-job",
      "--clearenv",
      "--setenv",
      "PATH",
      "/usr/bin:/bin",
      "--setenv",
      "HOME",
      "/workspace/home",
      "--setenv",
      "LANG",
      "C.UTF-8",
      "--setenv",
      "TMPDIR",
      "/tmp",
      "--setenv",
      "MALLOC_ARENA_MAX",
      "2",
      "--ro-bind",
      "/usr",
      "/usr",
      "--symlink",
      "usr/bin",
      "/bin",
      "--symlink",
      "usr/lib",
      "/lib",
      "--symlink",
      "usr/lib64",
      "/lib64",
      "--symlink",
      "usr/sbin",
      "/sbin",
      "--ro-bind-try",
      "/etc/ld.so.cache",
      "/etc/ld.so.cache",
      "--ro-bind-try",
      "/etc/alternatives",
      "/etc/alternatives",
      "--ro-bind-try",
      "/etc/localtime",
      "/etc/localtime",
      "--ro-bind-try",
      "/etc/R",
      "/etc/R",
      "--proc",
      "/proc",
      "--dev",
      "/dev",
      "--size",
      "67108864",
      "--tmpfs",
      "/dev/shm",
      "--remount-ro",
      "/dev",
      "--size",
      "268435456",
      "--tmpfs",
      "/tmp",
      "--ro-bind",
      "/srv/spe/workspaces/ws-1/data",
      "/workspace/data",
      "--bind",
      "/srv/spe/workspaces/ws-1/home",
      "/workspace/home",
      "--bind",
      "/srv/spe/workspaces/ws-1/outputs",
      "/workspace/outputs",
      "--remount-ro",
      "/",
      "--chdir",
      "/workspace",
      "--",
      "python3",
      "home/a.py",
    ]);
  });

  it("exposes no host path but /usr, the listed /etc files and the workspace's own areas", () => {
    const sources = boundSources(bwrapArgs(job()));
    for (const s of sources) {
      expect(s === "/usr" || s.startsWith("/etc/") || s.startsWith("/srv/spe/workspaces/ws-1/")).toBe(true);
    }
    expect(sources).not.toContain("/etc/shadow");
    expect(sources).not.toContain("/etc/passwd");
    // data/ is bound read-only: home/ and outputs/ are the only writable host paths
    const args = bwrapArgs(job());
    const writable = args.flatMap((a, i) => (a === "--bind" ? [args[i + 1]] : []));
    expect(writable).toEqual(["/srv/spe/workspaces/ws-1/home", "/srv/spe/workspaces/ws-1/outputs"]);
  });

  it("ends the options with -- so a command that looks like an option stays the command", () => {
    const args = bwrapArgs(job({ command: ["--bind", "/", "/x"] }));
    expect(args.slice(-4)).toEqual(["--", "--bind", "/", "/x"]);
  });

  it("binds /bin and friends when the host is not merged-usr", () => {
    const args = bwrapArgs(job(), [{ path: "/bin" }, { path: "/lib", linkTo: "usr/lib" }]);
    expect(args.join(" ")).toContain("--ro-bind /bin /bin --symlink usr/lib /lib --ro-bind-try");
  });

  it("sizes /tmp from the job", () => {
    const args = bwrapArgs(job({ tmpBytes: 16 * 1024 * 1024 }));
    expect(args.join(" ")).toContain("--size 16777216 --tmpfs /tmp");
  });

  it("describes this host correctly", () => {
    const dirs = hostSystemDirs();
    expect(dirs.map((d) => d.path)).toEqual(expect.arrayContaining(["/bin", "/lib"]));
    if (dirs.every((d) => d.linkTo))
      expect(dirs).toEqual(MERGED_USR.filter((m) => dirs.some((d) => d.path === m.path)));
  });
});

describe("bwrapPath", () => {
  it("finds an executable named bwrap on the given path, and only an executable one", () => {
    const dir = mkdtempSync(join(tmpdir(), "spe-path-"));
    try {
      mkdirSync(join(dir, "a"));
      mkdirSync(join(dir, "b"));
      writeFileSync(join(dir, "a/bwrap"), "#!/bin/sh\n");
      chmodSync(join(dir, "a/bwrap"), 0o644);
      writeFileSync(join(dir, "b/bwrap"), "#!/bin/sh\n");
      chmodSync(join(dir, "b/bwrap"), 0o755);
      // root passes access(X_OK) for any file with an x bit somewhere, so a/ has none at all
      expect(bwrapPath(`relative:${join(dir, "a")}:${join(dir, "b")}`)).toBe(join(dir, "b/bwrap"));
      expect(bwrapPath(join(dir, "a"))).toBeNull();
      expect(bwrapPath("/nonexistent")).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reads the installed version and compares it with the minimum", () => {
    const path = bwrapPath();
    if (path) expect(bwrapVersion(path)).toEqual([expect.any(Number), expect.any(Number), expect.any(Number)]);
    expect(bwrapVersion("/nonexistent/bwrap")).toBeNull();
    expect(bwrapRecentEnough([0, 8, 0])).toBe(true);
    expect(bwrapRecentEnough([0, 11, 1])).toBe(true);
    expect(bwrapRecentEnough([1, 0, 0])).toBe(true);
    expect(bwrapRecentEnough([0, 6, 1])).toBe(false);
    expect(bwrapRecentEnough([0, 7, 9])).toBe(false);
  });

  it("finds prlimit on the system path", () => {
    expect(findExecutable("prlimit")).toMatch(/\/prlimit$/);
  });
});

describe("resolveJob", () => {
  it("fills in the defaults", () => {
    expect(resolveJob(job({ root: "/srv/ws/" }))).toMatchObject({
      root: "/srv/ws",
      maxProcesses: 128,
      outputsQuotaBytes: 1024 ** 3,
      maxFileBytes: 1024 ** 3,
      tmpBytes: 256 * 1024 ** 2,
      logBytes: 1024 ** 2,
    });
    expect(resolveJob(job({ outputsQuotaBytes: 5000 })).maxFileBytes).toBe(5000);
  });

  it.each([
    ["an empty command", { command: [] }, /command must be a non-empty argv/],
    ["an empty program", { command: [""] }, /non-empty argv/],
    ["a NUL in an argument", { command: ["python3", "a\0b"] }, /command\[1\] must be a string without NUL/],
    ["a non-string argument", { command: ["python3", 1 as unknown as string] }, /command\[1\]/],
    ["a relative root", { root: "ws-1" }, /root must be an absolute path/],
    ["a NUL in root", { root: "/srv/ws\0x" }, /root must be an absolute path/],
    ["a zero timeout", { timeoutMs: 0 }, /timeoutMs must be an integer from 1/],
    ["a timeout past setTimeout's range", { timeoutMs: 2 ** 31 }, /timeoutMs/],
    ["a fractional memory", { memoryMiB: 1.5 }, /memoryMiB/],
    ["an unknown isolation", { isolation: "docker" as "none" }, /isolation must be/],
    ["a negative uid", { uid: -1 }, /uid must be/],
    ["a /tmp under 1 MiB", { tmpBytes: 1000 }, /tmpBytes/],
  ])("rejects %s", (_name, over, message) => {
    expect(() => resolveJob(job(over))).toThrow(message);
    expect(() => bwrapArgs(job(over))).toThrow(message);
  });
});

describe("prlimitArgs", () => {
  it("caps address space at memory plus 256 MiB headroom, processes, file size, and disables core dumps", () => {
    expect(prlimitArgs(resolveJob(job({ memoryMiB: 256, maxProcesses: 64, outputsQuotaBytes: 1000 })))).toEqual([
      `--as=${512 * 1024 * 1024}`,
      "--nproc=64",
      "--fsize=1000",
      "--core=0",
    ]);
  });
});

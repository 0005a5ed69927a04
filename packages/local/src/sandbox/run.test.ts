/**
 * Real escape attempts against real sandboxes: nothing is mocked. Each job gets a throwaway workspace
 * owned by a dedicated uid (when the tests run as root), next to stand-ins for what it must never reach.
 */
import { type ChildProcess, spawn } from "node:child_process";
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { bwrapPath, ETC_FILES, hostSystemDirs } from "./bwrap";
import type { Isolation, SandboxJob, SandboxResult } from "./job";
import { assertSandboxAvailable, runSandboxed } from "./run";

const asRoot = process.getuid?.() === 0;
/** The job's user when the tests run as root: not root, no groups, owns nothing outside its workspace. */
const TEST_UID = 100123;
const jobUid = asRoot ? TEST_UID : undefined;
const hasBwrap = bwrapPath() !== null;
const MiB = 1024 * 1024;

let base: string;
let root: string;
let otherWorkspace: string;
let masterKey: string;
let serial = 0;

function workspace(name: string): string {
  const dir = join(base, name);
  for (const area of ["", "data", "home", "outputs"]) {
    mkdirSync(join(dir, area), { recursive: true });
    chmodSync(join(dir, area), 0o755);
    if (asRoot) chownSync(join(dir, area), TEST_UID, TEST_UID);
  }
  return dir;
}

beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), "spe-sandbox-"));
  chmodSync(base, 0o755); // the job's uid must reach its workspace (bwrap binds as that uid)
  // Stand-ins for the controller's data dir and another workspace, readable by the job's uid on the host:
  // only the sandbox keeps them away (the none-mode control test reads them).
  mkdirSync(join(base, "controller/keys"), { recursive: true, mode: 0o755 });
  masterKey = join(base, "controller/keys/master.key");
  writeFileSync(masterKey, "MASTER-KEY", { mode: 0o644 });
  otherWorkspace = workspace("ws-other");
  writeFileSync(join(otherWorkspace, "data/secret.csv"), "patient,diagnosis\n", { mode: 0o644 });
});
afterAll(() => rmSync(base, { recursive: true, force: true }));
beforeEach(() => {
  root = workspace(`ws-${++serial}`);
});

const spec = (): SandboxJob => ({
  root,
  command: ["true"],
  timeoutMs: 5000,
  memoryMiB: 256,
  uid: jobUid,
  isolation: "bubblewrap",
});

const run = (command: string[], over: Partial<SandboxJob> = {}) => runSandboxed({ ...spec(), command, ...over });
const py = (code: string, over: Partial<SandboxJob> = {}) => run(["python3", "-c", code], over);

/**
 * A Python prelude: `attempt(name, fn)` records `ok: <value>` or `error: <exception>`, `report()` prints
 * them as JSON, so one job can try many escapes and the test asserts each.
 */
const PROBE = `
import json, os, socket, sys
results = {}
def attempt(name, fn):
    try:
        results[name] = "ok: " + str(fn())
    except BaseException as e:
        results[name] = "error: " + type(e).__name__ + ": " + str(e)
def report():
    print(json.dumps(results))
def read(path):
    return os.listdir(path) if os.path.isdir(path) else open(path).read()
def write(path):
    with open(path, "w") as f:
        f.write("x")
def connect(host, port):
    socket.create_connection((host, port), timeout=1).close()
`;
const probe = async (code: string, over: Partial<SandboxJob> = {}) => {
  const result = await py(`${PROBE}\n${code}\nreport()`, over).result;
  expect(result, result.stderr).toMatchObject({ outcome: "succeeded" });
  return JSON.parse(result.stdout) as Record<string, string>;
};

/** How Python prints a sorted list of strings. */
const pyList = (items: string[]) =>
  `[${[...items]
    .sort()
    .map((i) => `'${i}'`)
    .join(", ")}]`;

/** Host pids whose command line contains `marker` (a job's processes, whatever namespace they are in). */
function processesWith(marker: string): number[] {
  return readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid)
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, "latin1").includes(marker);
      } catch {
        return false;
      }
    })
    .map(Number);
}

async function until(what: string, check: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * A separate controller process (node + tsx) running one job and printing `{ result, inheritable }` as
 * JSON. With `openDir`, a shell first opens it as descriptor {@link LEAKED_FD} without close-on-exec, as
 * `exec 40<dir` before `npm start` would. (Node marks descriptors up to about 15 close-on-exec itself at
 * startup, not the ones above: this environment's own runner leaves one at 251.)
 */
const LEAKED_FD = 40;

function startController(job: SandboxJob, openDir?: string): ChildProcess {
  const script = join(base, `controller-${serial}.mts`);
  const here = (file: string) => JSON.stringify(new URL(file, import.meta.url).href);
  writeFileSync(
    script,
    `import { runSandboxed } from ${here("./run.ts")};\n` +
      `import { inheritableFds } from ${here("./inherited-fds.ts")};\n` +
      "const inheritable = inheritableFds();\n" +
      "const result = await runSandboxed(JSON.parse(process.argv[2])).result;\n" +
      "process.stdout.write(JSON.stringify({ result, inheritable }));\n",
  );
  const node = [process.execPath, "--import", "tsx", script, JSON.stringify(job)];
  const repo = fileURLToPath(new URL("../../../..", import.meta.url)); // where tsx resolves
  const argv = openDir
    ? ["/bin/bash", "-c", `exec ${LEAKED_FD}<"$1"; shift; exec "$@"`, "bash", openDir, ...node]
    : node;
  return spawn(argv[0]!, argv.slice(1), { cwd: repo, stdio: ["ignore", "pipe", "inherit"] });
}

const uniqueSleep = () => `1000.${Date.now() % 1_000_000}${serial}`;

/**
 * Python that leaves processes behind: a background `sleep`, a child in its own session ignoring
 * SIGTERM and SIGHUP, and (with daemon) a double-forked orphan re-parented away from the job.
 */
const stubborn = (sleepArg: string, daemon: boolean) => `
import os, signal, subprocess, time
subprocess.Popen(["sleep", "${sleepArg}"])
if os.fork() == 0:
    os.setsid()
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    time.sleep(1000)
if ${daemon ? "True" : "False"} and os.fork() == 0:
    os.setsid()
    if os.fork() != 0:
        os._exit(0)
    time.sleep(1000)
time.sleep(1000)
`;

describe.skipIf(!hasBwrap)("runSandboxed with bubblewrap", () => {
  let tcp: Server;
  let unix: Server;
  let connections = 0;
  const abstractName = `\0spe-sandbox-test-${process.pid}`;
  beforeAll(async () => {
    tcp = createServer((s) => {
      connections++;
      s.destroy();
    });
    unix = createServer((s) => {
      connections++;
      s.destroy();
    });
    await new Promise<void>((r) => tcp.listen(0, "127.0.0.1", r));
    await new Promise<void>((r) => unix.listen(abstractName, r));
  });
  afterAll(() => {
    tcp.close();
    unix.close();
  });

  it("cannot reach a server on the host's loopback, an abstract unix socket, DNS or the internet", async () => {
    const { port } = tcp.address() as { port: number };
    connections = 0;
    const r = await probe(`
attempt("loopback", lambda: connect("127.0.0.1", ${port}))
attempt("abstract", lambda: socket.socket(socket.AF_UNIX).connect(${JSON.stringify(abstractName)}))
attempt("dns", lambda: socket.getaddrinfo("example.com", 443))
attempt("outbound", lambda: connect("1.1.1.1", 443))
attempt("interfaces", lambda: [name for _, name in socket.if_nameindex()])
`);
    expect(r.loopback).toMatch(/^error: .*(unreachable|refused)/i);
    expect(r.abstract).toMatch(/^error: ConnectionRefusedError/);
    expect(r.dns).toMatch(/^error: gaierror/);
    expect(r.outbound).toMatch(/^error: .*unreachable/i);
    expect(r.interfaces).toBe("ok: ['lo']");
    expect(connections).toBe(0);
  });

  it("sees nothing of the host but /usr: not the controller's keys, other workspaces, /etc/shadow, /root", async () => {
    const r = await probe(`
attempt("masterKey", lambda: read(${JSON.stringify(masterKey)}))
attempt("controllerDir", lambda: read(${JSON.stringify(join(base, "controller"))}))
attempt("otherWorkspace", lambda: read(${JSON.stringify(join(otherWorkspace, "data/secret.csv"))}))
attempt("workspaces", lambda: read(${JSON.stringify(base)}))
attempt("shadow", lambda: read("/etc/shadow"))
attempt("passwd", lambda: read("/etc/passwd"))
attempt("root", lambda: read("/root"))
attempt("work", lambda: read("/work"))
attempt("home", lambda: read("/home"))
attempt("sys", lambda: read("/sys/class/net"))
attempt("hostPid1", lambda: read("/proc/1/cmdline"))
attempt("slash", lambda: sorted(os.listdir("/")))
attempt("etc", lambda: sorted(os.listdir("/etc")))
attempt("mounts", lambda: sorted({line.split()[4] for line in open("/proc/self/mountinfo")}))
attempt("cwd", lambda: os.getcwd())
attempt("ids", lambda: (os.getuid(), os.getgid(), os.getgroups()))
attempt("nice", lambda: os.nice(0))
`);
    for (const key of ["masterKey", "controllerDir", "otherWorkspace", "workspaces", "shadow", "passwd"]) {
      expect(r[key], key).toMatch(/^error: FileNotFoundError/);
    }
    for (const key of ["root", "work", "home", "sys"]) expect(r[key], key).toMatch(/^error: FileNotFoundError/);
    // pid 1 is the job itself, not the host's init
    expect(r.hostPid1!.slice(4).split("\0").slice(0, 2)).toEqual(["python3", "-c"]);
    const slash = [...hostSystemDirs().map((d) => d.path.slice(1)), "dev", "etc", "proc", "tmp", "usr", "workspace"];
    expect(r.slash).toBe(`ok: ${pyList(slash)}`);
    expect(r.etc).toBe(`ok: ${pyList(ETC_FILES.filter((f) => existsSync(f)).map((f) => basename(f)))}`);
    const mounts = JSON.parse(r.mounts!.slice(4).replaceAll("'", '"')) as string[];
    const allowed =
      /^(\/|\/usr|\/etc\/(ld\.so\.cache|alternatives|localtime|R)|\/proc(\/.*)?|\/dev(\/.*)?|\/tmp|\/workspace\/(data|home|outputs))$/;
    expect(mounts.filter((m) => !allowed.test(m))).toEqual([]);
    expect(r.cwd).toBe("ok: /workspace");
    if (asRoot) expect(r.ids).toBe(`ok: (${TEST_UID}, ${TEST_UID}, [])`);
    expect(r.nice).toBe("ok: 10");
  });

  it("reads data/ but cannot write it or the system; what it writes to home/ and outputs/ persists", async () => {
    writeFileSync(join(root, "data/in.csv"), "a,b\n1,2\n");
    const r = await probe(`
attempt("readData", lambda: read("data/in.csv"))
attempt("writeData", lambda: write("data/new.csv"))
attempt("overwriteData", lambda: write("data/in.csv"))
attempt("writeRoot", lambda: write("/workspace/x"))
attempt("writeUsr", lambda: write("/usr/x"))
attempt("writeDev", lambda: write("/dev/x"))
attempt("writeHome", lambda: write("home/h.txt"))
attempt("writeOutputs", lambda: (os.makedirs("outputs/sub"), write("outputs/sub/o.txt")))
attempt("writeTmp", lambda: write("/tmp/t"))
attempt("writeShm", lambda: write("/dev/shm/s"))
`);
    expect(r.readData).toBe("ok: a,b\n1,2\n");
    for (const key of ["writeData", "overwriteData", "writeRoot", "writeUsr", "writeDev"]) {
      expect(r[key], key).toMatch(/^error: OSError: \[Errno 30\] Read-only file system/);
    }
    for (const key of ["writeHome", "writeOutputs", "writeTmp", "writeShm"]) expect(r[key], key).toMatch(/^ok/);
    expect(readdirSync(join(root, "data"))).toEqual(["in.csv"]);
    expect(readFileSync(join(root, "data/in.csv"), "utf8")).toBe("a,b\n1,2\n");
    expect(readFileSync(join(root, "home/h.txt"), "utf8")).toBe("x");
    expect(readFileSync(join(root, "outputs/sub/o.txt"), "utf8")).toBe("x");
  });

  it.skipIf(!asRoot)(
    "contains a fork bomb with nproc, kills it at the timeout and keeps the event loop responsive",
    async () => {
      const marker = `bomb-${Date.now()}`;
      let lag = 0;
      let last = performance.now();
      const ticker = setInterval(() => {
        const now = performance.now();
        lag = Math.max(lag, now - last - 10);
        last = now;
      }, 10);
      const server = createHttpServer((_req, res) => res.end("pong"));
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      try {
        const job = py(
          `import os\n# ${marker}\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n`,
          {
            maxProcesses: 32,
            timeoutMs: 1500,
          },
        );
        await until("the bomb fills its process cap", () => processesWith(marker).length >= 30);
        const { port } = server.address() as { port: number };
        const asked = performance.now();
        expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe("pong");
        const answeredMs = performance.now() - asked;
        let peak = 0;
        while (!(await Promise.race([job.result.then(() => true), new Promise((r) => setTimeout(r, 50, false))]))) {
          peak = Math.max(peak, processesWith(marker).length);
        }
        const result = await job.result;
        expect(result.outcome).toBe("timed_out");
        expect(peak).toBeLessThanOrEqual(32); // bwrap itself counts too
        expect(answeredMs).toBeLessThan(500);
        expect(lag).toBeLessThan(250);
        await until("no process of the bomb remains", () => processesWith(marker).length === 0, 1000);
      } finally {
        clearInterval(ticker);
        server.close();
      }
    },
  );

  it("fails a job allocating 4 GiB with memoryMiB 256, and lets one within its limit run", async () => {
    const hog = await py("b = bytearray(4 << 30)").result;
    expect(hog).toMatchObject({ outcome: "failed", exitCode: 1 });
    expect(hog.stderr).toContain("MemoryError");
    const fits = await py("b = bytearray(200 << 20); b[-1] = 1; print(len(b))").result;
    expect(fits).toMatchObject({ outcome: "succeeded", stdout: `${200 * MiB}\n` });
  });

  it("kills a job at its timeout with every process it started, daemons and SIGTERM-ignorers included", async () => {
    const marker = uniqueSleep();
    const started = Date.now();
    const job = py(stubborn(marker, true), { timeoutMs: 1500 });
    // parent, SIGTERM-ignoring child, daemon and sleep (and bwrap, which carries the code in its argv)
    await until("the job's processes are up", () => processesWith(marker).length >= 5);
    const result = await job.result;
    expect(result).toMatchObject({ outcome: "timed_out", exitCode: null, signal: "SIGKILL" });
    expect(result.stderr).toContain("[spe: killed at its timeout of 1500 ms]");
    expect(Date.now() - started).toBeLessThan(3000);
    await until("no process of the job remains", () => processesWith(marker).length === 0, 1000);
  });

  it("cancel() kills the job and everything it started and reports cancelled", async () => {
    const marker = uniqueSleep();
    const job = py(stubborn(marker, true), { timeoutMs: 10_000 });
    await until("the job's processes are up", () => processesWith(marker).length >= 5);
    const cancelledAt = Date.now();
    job.cancel();
    const result = await job.result;
    expect(result).toMatchObject({ outcome: "cancelled", signal: "SIGKILL" });
    expect(Date.now() - cancelledAt).toBeLessThan(1000);
    await until("no process of the job remains", () => processesWith(marker).length === 0, 1000);
    job.cancel(); // after the end: nothing to do, nothing thrown
  });

  it("dies with the controller: SIGKILL of the controlling node process takes the job down", async () => {
    const marker = uniqueSleep();
    const controller = startController({ ...spec(), command: ["sleep", marker], timeoutMs: 60_000 });
    try {
      const isSleep = (p: number) => readFileSync(`/proc/${p}/comm`, "latin1").startsWith("sleep");
      await until("the job runs", () => processesWith(marker).some(isSleep), 10_000);
      controller.kill("SIGKILL");
      await until("no process of the job remains", () => processesWith(marker).length === 0, 2000);
    } finally {
      controller.kill("SIGKILL");
    }
  });

  it("gets none of the descriptors the controller inherited, such as an open directory", async () => {
    const code = `${PROBE}
attempt("fd", lambda: os.readlink("/proc/self/fd/${LEAKED_FD}"))
attempt("keyViaFd", lambda: open(os.open("keys/master.key", os.O_RDONLY, dir_fd=${LEAKED_FD})).read())
report()`;
    const controller = startController({ ...spec(), command: ["python3", "-c", code] }, join(base, "controller"));
    const out: Buffer[] = [];
    controller.stdout!.on("data", (c: Buffer) => out.push(c));
    await new Promise((r) => controller.once("close", r));
    const { result, inheritable } = JSON.parse(Buffer.concat(out).toString()) as {
      result: SandboxResult;
      inheritable: number[];
    };
    expect(inheritable).toContain(LEAKED_FD); // the controller really holds the directory, inheritably
    expect(result.outcome, result.stderr).toBe("succeeded");
    expect(JSON.parse(result.stdout)).toEqual({
      fd: "ok: /dev/null",
      keyViaFd: expect.stringMatching(/^error: NotADirectoryError/),
    });
  });

  it("kills a job that keeps writing past the outputs quota", async () => {
    const started = Date.now();
    const result = await py(
      "import os, time\ni = 0\nwhile True:\n    open(f'outputs/part{i}', 'wb').write(os.urandom(256 * 1024))\n    i += 1\n    time.sleep(0.02)\n",
      { outputsQuotaBytes: MiB, timeoutMs: 10_000 },
    ).result;
    expect(result).toMatchObject({ outcome: "quota_exceeded", signal: "SIGKILL" });
    expect(result.stderr).toMatch(/\[spe: outputs\/ holds over \d+ bytes, more than its quota of 1048576\]/);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it("does not let a job that wrote past the quota between two polls succeed", async () => {
    const result = await py("for i in range(3):\n    open(f'outputs/p{i}', 'wb').write(b'x' * (512 * 1024))\n", {
      outputsQuotaBytes: MiB,
    }).result;
    expect(result).toMatchObject({ outcome: "quota_exceeded", exitCode: 0 });
  });

  it("stops one file at maxFileBytes", async () => {
    const result = await py("open('outputs/big', 'wb').write(b'x' * (2 << 20))", { outputsQuotaBytes: MiB }).result;
    expect(result.outcome).toBe("failed");
    expect(result.stderr).toContain("File too large");
    expect(statSync(join(root, "outputs/big")).size).toBeLessThanOrEqual(MiB);
  });

  it("keeps only the last 1 MiB of 5 MB of stdout", async () => {
    const result = await py("import sys\nfor i in range(500000):\n    sys.stdout.write('%09d\\n' % i)\n").result;
    expect(result.outcome).toBe("succeeded");
    const [marker, ...rest] = result.stdout.split("\n");
    expect(marker).toBe(`[spe: ${5_000_000 - MiB} earlier bytes truncated]`);
    const tail = rest.join("\n");
    expect(Buffer.byteLength(tail)).toBe(MiB);
    expect(tail.endsWith("000499999\n")).toBe(true);
    expect(result.stderr).toBe("");
  });

  it("propagates the exit code and passes argv without a shell", async () => {
    const args = ["; rm -rf /", "$(touch /workspace/home/pwned)", "`id`", "a b", "*", "--version"];
    const result = await run([
      "python3",
      "-c",
      "import json, sys; print(json.dumps(sys.argv[1:])); sys.exit(7)",
      ...args,
    ]).result;
    expect(result).toMatchObject({ outcome: "failed", exitCode: 7, signal: null });
    expect(JSON.parse(result.stdout)).toEqual(args);
    expect(existsSync(join(root, "home/pwned"))).toBe(false);
    expect(result.finishedAt.getTime()).toBeGreaterThanOrEqual(result.startedAt.getTime());
  });

  it("caps the private /tmp, which is memory", async () => {
    const result = await py("open('/tmp/fill', 'wb').write(b'x' * (2 << 20))", { tmpBytes: MiB }).result;
    expect(result.outcome).toBe("failed");
    expect(result.stderr).toContain("No space left on device");
  });

  it("reports a command that dies of a signal inside as 128 + N, like a shell", async () => {
    const result = await py("import ctypes; ctypes.string_at(0)").result;
    expect(result).toMatchObject({ outcome: "failed", exitCode: 139, signal: null });
  });

  it("reports a command that does not exist as a failure", async () => {
    const result = await run(["no-such-program"]).result;
    expect(result.outcome).toBe("failed");
    expect(result.stderr).toMatch(/execvp no-such-program: No such file or directory/);
  });
});

describe("runSandboxed with isolation none (unsafe development mode)", () => {
  const none = { isolation: "none" as Isolation };

  it("runs in the workspace root with the small environment, and propagates exit code and argv", async () => {
    const result = await run(
      [
        "python3",
        "-c",
        "import json, os, sys; print(json.dumps([os.getcwd(), sorted(os.environ), sys.argv[1:]])); sys.exit(3)",
        "$(id)",
      ],
      none,
    ).result;
    expect(result).toMatchObject({ outcome: "failed", exitCode: 3 });
    expect(JSON.parse(result.stdout)).toEqual([
      root,
      ["HOME", "LANG", "MALLOC_ARENA_MAX", "PATH", "TMPDIR"],
      ["$(id)"],
    ]);
  });

  it("reaches what bubblewrap hides (so the escape tests above can fail)", async () => {
    const server = createServer((c) => c.destroy());
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const { port } = server.address() as { port: number };
      const r = await probe(
        `attempt("masterKey", lambda: read(${JSON.stringify(masterKey)}))\nattempt("loopback", lambda: connect("127.0.0.1", ${port}))`,
        none,
      );
      expect(r).toEqual({ masterKey: "ok: MASTER-KEY", loopback: "ok: None" });
    } finally {
      server.close();
    }
  });

  it("applies the same memory limit", async () => {
    const hog = await py("b = bytearray(4 << 30)", none).result;
    expect(hog).toMatchObject({ outcome: "failed", exitCode: 1 });
    expect(hog.stderr).toContain("MemoryError");
  });

  it("kills at the timeout every process the job started, a child in its own session included", async () => {
    const marker = uniqueSleep();
    const job = py(stubborn(marker, false), { ...none, timeoutMs: 1000 });
    await until("the job's processes are up", () => processesWith(marker).length >= 3);
    expect((await job.result).outcome).toBe("timed_out");
    await until("no process of the job remains", () => processesWith(marker).length === 0, 1000);
  });

  it("does not wait for a process that escaped the job to close the logs", async () => {
    const marker = uniqueSleep();
    const started = Date.now();
    const result = await run(["sh", "-c", `setsid sleep ${marker} & echo started`], none).result;
    try {
      expect(result).toMatchObject({ outcome: "succeeded", stdout: "started\n" });
      expect(Date.now() - started).toBeLessThan(2000); // the grace period, not the sleep
    } finally {
      for (const pid of processesWith(marker)) process.kill(pid, "SIGKILL"); // the documented dev-mode leak
    }
  });

  it("kills what the job left running in its group when it exits", async () => {
    const marker = uniqueSleep();
    const result = await run(["sh", "-c", `sleep ${marker} & echo started`], none).result;
    expect(result).toMatchObject({ outcome: "succeeded", stdout: "started\n" });
    await until("the background sleep is gone", () => processesWith(marker).length === 0, 1000);
  });
});

describe("assertSandboxAvailable", () => {
  it.skipIf(!hasBwrap)("finds prlimit, nice and a recent enough bubblewrap here", () => {
    expect(assertSandboxAvailable("bubblewrap")).toEqual({
      prlimit: expect.stringMatching(/\/prlimit$/),
      nice: expect.stringMatching(/\/nice$/),
      bwrap: bwrapPath(),
    });
    expect(assertSandboxAvailable("none").bwrap).toBeNull();
  });
});

describe("runSandboxed refuses", () => {
  it.skipIf(!asRoot)("to run a job as root", () => {
    expect(() => run(["true"], { uid: undefined })).toThrow(/refusing to run a job as root/);
    expect(() => run(["true"], { uid: 0 })).toThrow(/refusing to run a job as root/);
    expect(() => run(["true"], { uid: TEST_UID, gid: 0 })).toThrow(/refusing to run a job as root/);
  });

  it("a root without data/, home/ and outputs/, or with an area that is a symlink", () => {
    expect(() => run(["true"], { root: join(base, "nope") })).toThrow(/data must be a directory/);
    rmSync(join(root, "home"), { recursive: true });
    symlinkSync("/root", join(root, "home"));
    expect(() => run(["true"])).toThrow(/home must be a directory, not missing or a symlink/);
  });

  it("an invalid command before starting anything", () => {
    expect(() => run([])).toThrow(/command must be a non-empty argv/);
    expect(() => run(["python3", "\0"])).toThrow(/without NUL/);
  });
});

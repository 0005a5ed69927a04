/**
 * Composition root of a single node: builds every local adapter over one data directory and the hono
 * app over them, and runs the timers and the sweeper. `server.ts` (npm start) and the tests use it.
 */
import { createHash } from "node:crypto";
import { accessSync, constants, existsSync, lstatSync, mkdirSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { type ApiDeps, type App, createApp, jwtVerifier } from "@spe/api";
import {
  type Clock,
  DEFAULT_POLICY,
  type Deps,
  type Ids,
  Job,
  LIVE_STATUSES,
  listAll,
  type Policy,
  randomIds,
  sealHead,
  sweep,
  systemClock,
  Workspace,
} from "@spe/core";
import { InProcessDispatcher } from "./dispatcher";
import { FileObjectStore } from "./file-object-store";
import { fileSources } from "./file-sources";
import { LOCAL_AUDIENCE, LOCAL_ISSUER } from "./local-issuer";
import { FileMasterKey, LocalKeyService } from "./local-key-service";
import { LocalSigner, loadOrCreateKey, type NodeKey } from "./local-keys";
import { SandboxRuntime } from "./sandbox-runtime";
import { SqliteStore } from "./sqlite-store";

import { TimerScheduler } from "./timer-scheduler";

export interface NodeOptions {
  dataDir: string;
  /** External OIDC issuer accepted besides the local one. */
  externalIssuer?: { issuer: string; jwksUrl: string; audience: string };
  /** Directories dataset sources must lie in. @default [`<dataDir>/holder`] */
  sourceRoots?: string[];
  /**
   * Where workspaces' plaintext areas live. @default a directory in /dev/shm (memory-backed, so staged
   * data is never written to disk in the clear), or `<dataDir>/run` where /dev/shm is missing
   */
  runDir?: string;
  /** `bubblewrap` isolates every job; `unsafe-process` runs jobs unsandboxed (development only). @default bubblewrap */
  runtime?: "bubblewrap" | "unsafe-process";
  /** Where bubblewrap is (null: pretend it is missing, for tests). @default looked up on PATH */
  bwrapPath?: string | null;
  /** Overrides of the default policy (key grace days, outputs quota, upload limit). */
  policy?: Partial<Policy>;
  /** How often the sweeper runs (ms). @default 30000 */
  sweepIntervalMs?: number;
  /** How often the audit head is sealed when it moved (ms). @default 60000 */
  sealIntervalMs?: number;
  clock?: Clock;
  ids?: Ids;
  log?: (line: Record<string, unknown>) => void;
}

export interface SpeNode {
  app: App;
  deps: ApiDeps;
  store: SqliteStore;
  signer: LocalSigner;
  issuerKey: NodeKey;
  dispatcher: InProcessDispatcher;
  scheduler: TimerScheduler;
  runtime: SandboxRuntime;
  /** Where the workspaces' plaintext areas live. */
  runDir: string;
  /** Runs the sweeper once now. */
  sweep(opts?: { atStartup?: boolean }): ReturnType<typeof sweep>;
  /** Seals the audit head now (if it moved). */
  seal(): ReturnType<typeof sealHead>;
  /** Starts the periodic sweeper and sealer, after one sweep that resumes interrupted work. */
  startBackground(): Promise<void>;
  /** Stops timers, waits for dispatched work, seals the head, closes the database. */
  close(): Promise<void>;
}

export const dataPaths = (dataDir: string) => ({
  db: join(dataDir, "spe.db"),
  keys: join(dataDir, "keys"),
  objects: join(dataDir, "objects"),
  holder: join(dataDir, "holder"),
});

/** Refuses a run directory someone else made (or a symlink): see SandboxRuntime's ensureRunDir. */
function checkRunDir(runDir: string, cleanup: () => void): void {
  const s = lstatSync(runDir, { throwIfNoEntry: false });
  const me = process.getuid?.();
  if (s && (!s.isDirectory() || (me !== undefined && s.uid !== me))) {
    cleanup();
    throw new Error(
      `refusing to use ${runDir} for workspaces: it is ${s.isSymbolicLink() ? "a symlink" : s.isDirectory() ? `owned by uid ${s.uid}` : "not a directory"}; remove it or set SPE_RUN_DIR`,
    );
  }
}

/** A memory-backed directory for the node's workspaces: one per data directory. */
export function defaultRunDir(dataDir: string): string {
  try {
    accessSync("/dev/shm", constants.W_OK | constants.X_OK);
    const id = createHash("sha256").update(realpathSync(dataDir)).digest("hex").slice(0, 12);
    return join("/dev/shm", `spe-${id}`);
  } catch {
    return join(dataDir, "run");
  }
}

export function createNode(opts: NodeOptions): SpeNode {
  const paths = dataPaths(opts.dataDir);
  mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  const clock = opts.clock ?? systemClock;
  const log =
    opts.log ?? ((line) => process.stdout.write(`${JSON.stringify({ at: new Date().toISOString(), ...line })}\n`));
  const issuerKey = loadOrCreateKey(paths.keys, "jwt-issuer");
  const store = new SqliteStore(paths.db, clock);
  if (!existsSync(join(paths.keys, "audit-signing.pem")) && store.db.prepare("SELECT 1 FROM audit_seals").get()) {
    store.close();
    // A fresh key would sign a rewritten history as readily as the true one.
    throw new Error(
      `the audit trail has signed seals but ${join(paths.keys, "audit-signing.pem")} is missing: restore the key from its backup before starting`,
    );
  }
  const signer = new LocalSigner(loadOrCreateKey(paths.keys, "audit-signing"));
  let keys: LocalKeyService;
  try {
    const master = new FileMasterKey(paths.keys, { create: !LocalKeyService.hasKeys(store.db) });
    keys = new LocalKeyService(store.db, master, () => clock.now());
  } catch (err) {
    store.close();
    throw err;
  }
  const policy: Policy = { ...DEFAULT_POLICY, ...opts.policy };

  // The scheduler and dispatcher call back into use cases that need the full deps: built in two steps.
  let deps: ApiDeps;
  const onError = (what: string) => (err: unknown, ctx?: unknown) =>
    log({ msg: `${what} failed`, ctx: JSON.stringify(ctx), error: err instanceof Error ? err.message : String(err) });
  const scheduler = new TimerScheduler(
    (id) => Workspace.expire(deps, id),
    onError("expiry"),
    () => clock.now().getTime(),
  );
  const dispatcher = new InProcessDispatcher((task) => Workspace.provision(deps, task.workspaceId), onError("task"));
  const runDir = opts.runDir ?? defaultRunDir(opts.dataDir);
  checkRunDir(runDir, () => store.close());
  const runtime = new SandboxRuntime({
    runDir,
    isolation: opts.runtime === "unsafe-process" ? "none" : "bubblewrap",
    outputsQuotaBytes: policy.outputsQuotaBytes,
    ...(opts.bwrapPath === undefined ? {} : { bwrapPath: opts.bwrapPath }),
    onJobFinished: (workspaceId, jobId, result) =>
      void Job.finish(deps, workspaceId, jobId, result).catch((err) => onError("job")(err, { workspaceId, jobId })),
  });
  const core: Deps = {
    store,
    audit: store,
    clock,
    ids: opts.ids ?? randomIds,
    sources: fileSources(opts.sourceRoots ?? [paths.holder]),
    runtime,
    scheduler,
    dispatcher,
    keys,
    objects: new FileObjectStore(paths.objects),
    policy,
  };
  deps = {
    ...core,
    signer,
    verifyToken: jwtVerifier({
      local: { issuer: LOCAL_ISSUER, audience: LOCAL_AUDIENCE, publicKey: issuerKey.publicKey },
      ...(opts.externalIssuer ? { external: opts.externalIssuer } : {}),
    }),
    log,
  };
  const app = createApp(deps);

  const timers: NodeJS.Timeout[] = [];
  const running = new Set<Promise<unknown>>();
  const seal = () => sealHead({ audit: store, signer, clock });
  const runSweep = async (o?: { atStartup?: boolean }) => {
    const report = await sweep(deps, o);
    for (const f of report.failures) onError("sweep")(f.error, f.target);
    return report;
  };
  const every = (ms: number, what: string, fn: () => Promise<unknown>) => {
    let busy = false;
    const t = setInterval(() => {
      if (busy) return;
      busy = true;
      const run = fn()
        .catch((err) => onError(what)(err, null))
        .finally(() => {
          busy = false;
          running.delete(run);
        });
      running.add(run);
    }, ms);
    t.unref();
    timers.push(t);
  };

  return {
    app,
    deps,
    store,
    signer,
    issuerKey,
    dispatcher,
    scheduler,
    runtime,
    runDir,
    sweep: runSweep,
    seal,
    async startBackground() {
      await runSweep({ atStartup: true });
      // Re-arm a timer for every live workspace: timers do not survive a restart.
      const live = await listAll((page) => store.list("workspace", { status: LIVE_STATUSES }, page));
      for (const { item } of live) await scheduler.scheduleExpiry(item.id, new Date(item.expiresAt));
      every(opts.sweepIntervalMs ?? 30_000, "sweep", () => runSweep());
      every(opts.sealIntervalMs ?? 60_000, "seal", seal);
    },
    async close() {
      if (!store.db.open) return;
      for (const t of timers) clearInterval(t);
      scheduler.close();
      try {
        await Promise.allSettled([...running]);
        await dispatcher.idle();
        await runtime.shutdown();
        await seal();
      } finally {
        store.close();
      }
    },
  };
}

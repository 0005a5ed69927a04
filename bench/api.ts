/**
 * API latency and throughput over loopback, each route beside a bare hono route on the same server,
 * measured right before it in the same run (the machine is noisy: only the ratio is comparable).
 *
 * The server runs in a child process (bench/server.ts) and autocannon in this one, so the load generator
 * does not share the server's event loop (2 cores: one each).
 *
 * Latency resolution: autocannon records latencies in an integer HDR histogram (1 ms lowest discernible
 * value), so its p50 on loopback is 0, 1 or 2 ms and a ratio of two such figures means nothing. Each
 * response's own time (process.hrtime, fractional ms) is passed to the `response` event: we collect those
 * and take exact percentiles over every 2xx response of the measured window. autocannon's own rounded p50
 * is printed beside it for reference.
 */
import { type ChildProcess, fork } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import autocannon, { type Request } from "autocannon";
import type { ServerInfo } from "./server";
import { emit, percentile, progress, round } from "./util";

const DURATION_S = Number(process.env.BENCH_DURATION ?? 5);
const WARMUP_S = Number(process.env.BENCH_WARMUP ?? 1);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const TARGET = "overhead_p50 <= 3";

interface Measured {
  p50: number;
  p99: number;
  rps: number;
  ok: number;
  non2xx: number;
  errors: number;
  autocannonP50: number;
  statuses: string;
}

function cannon(url: string, requests: Request[], duration: number): Promise<Measured> {
  const times: number[] = [];
  let non2xx = 0;
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const instance = autocannon({ url, connections: CONNECTIONS, duration, requests }, (err, result) => {
      if (err) return reject(err);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const sorted = Float64Array.from(times).sort();
      resolve({
        p50: percentile(sorted, 50),
        p99: percentile(sorted, 99),
        // 2xx responses over the wall time of the run (autocannon's own average is per 1 s sample).
        rps: times.length / seconds,
        ok: times.length,
        non2xx,
        errors: result.errors + result.timeouts,
        autocannonP50: result.latency.p50,
        statuses: Object.entries(result.statusCodeStats)
          .map(([code, s]) => `${code}:${s.count}`)
          .join(","),
      });
    });
    instance.on("response", (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) times.push(responseTime);
      else non2xx++;
    });
  });
}

/** A warm-up run (discarded: JIT, SQLite page cache, connection setup), then the measured run. */
async function measure(url: string, label: string, requests: Request[]): Promise<Measured> {
  progress(`api: ${label}: warm-up ${WARMUP_S} s, then ${DURATION_S} s x ${CONNECTIONS} connections`);
  await cannon(url, requests, WARMUP_S);
  const m = await cannon(url, requests, DURATION_S);
  progress(
    `api: ${label}: p50 ${m.p50.toFixed(3)} ms, p99 ${m.p99.toFixed(3)} ms, ${m.rps.toFixed(0)} req/s (${m.statuses})`,
  );
  if (m.non2xx > 0 || m.errors > 0) progress(`api: ${label}: WARNING ${m.non2xx} non-2xx, ${m.errors} errors`);
  return m;
}

async function startServer(): Promise<{ child: ChildProcess; info: ServerInfo }> {
  const child = fork(fileURLToPath(new URL("./server.ts", import.meta.url)), [], {
    stdio: ["ignore", "pipe", "inherit", "ipc"],
    // tsx is inherited through execArgv (--import tsx).
  });
  const lines = createInterface({ input: child.stdout! });
  const exited = once(child, "exit").then(([code]) => {
    throw new Error(`bench server exited (${code}) before it was ready`);
  });
  const first = (async () => {
    for await (const line of lines) return JSON.parse(line) as ServerInfo;
    throw new Error("bench server closed its stdout");
  })();
  const info = await Promise.race([first, exited]);
  exited.catch(() => {});
  return { child, info };
}

export async function runApi(): Promise<void> {
  progress("api: starting the server process (demo seed + permits for the launch figure)");
  const t0 = performance.now();
  const { child, info } = await startServer();
  progress(`api: server at ${info.url} (ready in ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  try {
    const auth = { authorization: `Bearer ${info.tokens.researcher}` };
    const bare: Request[] = [{ method: "GET", path: "/bare" }];

    // Launches rotate round-robin over many permits, so no permit reaches its limit of 50 live workspaces
    // (capacity = permits x 50) and concurrent launches rarely hit the same permit (a launch rewrites its
    // permit, so two launches on one permit conflict and one retries). Every request is a real launch: no
    // Idempotency-Key, a new workspace, its audit record, the expiry timer and the provisioning it
    // dispatches (which runs in the server during the measurement, as it would in production).
    let next = 0;
    const launch: Request[] = [
      {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify({ hours: 4 }),
        setupRequest: (req) => ({
          ...req,
          path: `/v1/permits/${info.permits[next++ % info.permits.length]}/workspaces`,
        }),
      },
    ];
    const routes: { route: string; requests: Request[] }[] = [
      {
        route: "GET /v1/workspaces/{id}",
        requests: [{ method: "GET", path: `/v1/workspaces/${info.workspaceId}`, headers: auth }],
      },
      { route: "POST /v1/permits/{permitId}/workspaces", requests: launch },
    ];

    for (const r of routes) {
      const b = await measure(info.url, "GET /bare (baseline)", bare);
      const m = await measure(info.url, r.route, r.requests);
      const overhead = m.p50 / b.p50;
      emit({
        bench: "api",
        route: r.route,
        p50_ms: round(m.p50),
        p99_ms: round(m.p99),
        rps: round(m.rps, 0),
        bare_p50_ms: round(b.p50),
        bare_p99_ms: round(b.p99),
        bare_rps: round(b.rps, 0),
        overhead_p50: round(overhead, 2),
        overhead_p99: round(m.p99 / b.p99, 2),
        rps_ratio: round(m.rps / b.rps, 3),
        requests: m.ok,
        non2xx: m.non2xx,
        errors: m.errors,
        autocannon_p50_ms: m.autocannonP50,
        connections: CONNECTIONS,
        duration_s: DURATION_S,
        target: TARGET,
        met: overhead <= 3,
      });
      if (r.requests === launch && next > info.permits.length * 50 * 0.9) {
        progress(`api: WARNING ${next} launches used >90% of the permits' capacity; raise BENCH_PERMITS`);
      }
    }
  } finally {
    child.kill("SIGTERM");
    if (child.exitCode === null) await once(child, "exit");
  }
}

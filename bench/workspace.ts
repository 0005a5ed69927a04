/**
 * Workspace figures through the HTTP API of a real node: launch-to-ready with ~100 MB staged (pseudonymised,
 * encrypted, then decrypted into the workspace's memory-backed view), beside copying the same file in the
 * same run; and a no-op job's round trip (POST, then GET until it ended), beside spawning `true` directly and
 * through bubblewrap alone.
 */
import { spawn } from "node:child_process";
import { closeSync, copyFileSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { createNode, issueToken, serve } from "@spe/local";
import { bwrapArgs, bwrapPath } from "../packages/local/src/sandbox";
import { emit, median, percentile, progress, round } from "./util";

const STAGED_MB = Number(process.env.SPE_BENCH_WORKSPACE_MB ?? 100);
const JOBS = Number(process.env.SPE_BENCH_JOBS ?? 40);

/** ~100-byte rows with two identifier columns, 20 rows per patient. */
function writeCsv(path: string, mb: number): number {
  const fd = openSync(path, "w");
  let bytes = 0;
  let rows = 0;
  writeSync(fd, "patient_id,nif,birth_date,sex,district,icd10,stage,diagnosis_year,survival_months,vital_status\n");
  const target = mb * 1024 * 1024;
  while (bytes < target) {
    const lines: string[] = [];
    for (let i = 0; i < 10_000; i++, rows++) {
      const p = Math.floor(rows / 20);
      lines.push(`P${1_000_000 + p},${200_000_000 + p},1961-04-12,F,Porto,C50.9,II,2019,48,alive,padding-to-100b`);
    }
    const chunk = `${lines.join("\n")}\n`;
    writeSync(fd, chunk);
    bytes += Buffer.byteLength(chunk);
  }
  closeSync(fd);
  return bytes;
}

const now = () => performance.now();

function spawnWait(cmd: string, args: string[]): Promise<number> {
  const t = now();
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: "ignore" });
    p.once("error", reject);
    p.once("exit", () => resolve(now() - t));
  });
}

export async function runWorkspace(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), "spe-bench-ws-"));
  const holder = join(dataDir, "holder", "big");
  mkdirSync(holder, { recursive: true });
  const csv = join(holder, "registry.csv");
  progress(`workspace: writing a ${STAGED_MB} MB CSV`);
  const bytes = writeCsv(csv, STAGED_MB);
  const node = createNode({ dataDir, log: () => {} });
  const server = await serve(node, 0);
  try {
    const token = async (sub: string, role: "admin" | "researcher") =>
      `Bearer ${await issueToken(node.issuerKey, sub, [role], 3600)}`;
    const admin = await token("ana", "admin");
    const alice = await token("alice", "researcher");
    const call = async (method: string, path: string, auth: string, body?: unknown) => {
      const res = await fetch(server.url + path, {
        method,
        headers: { authorization: auth, ...(body ? { "content-type": "application/json" } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      const json = (await res.json()) as Record<string, unknown>;
      if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
      return json;
    };
    await call("POST", "/v1/datasets", admin, {
      id: "ds-big",
      title: "Synthetic",
      holder: "Bench",
      source: pathToFileURL(holder).href,
      format: "csv",
      identifierColumns: ["patient_id", "nif"],
    });
    const day = 86_400_000;
    await call("POST", "/v1/permits", admin, {
      id: "P-BENCH",
      title: "Bench",
      purpose: "statistics",
      dataUser: "Bench",
      principalInvestigator: "alice",
      researchers: ["alice"],
      datasets: ["ds-big"],
      validFrom: new Date(Date.now() - day).toISOString(),
      validUntil: new Date(Date.now() + day).toISOString(),
      limits: { maxConcurrentWorkspaces: 5, maxWorkspaceHours: 8, cpus: 1, memoryMiB: 1024 },
    });

    // Baseline: copying the same bytes into memory-backed storage.
    const copyTo = join(node.runDir, "..", `bench-copy-${process.pid}`);
    const tc = now();
    copyFileSync(csv, copyTo);
    const copyMs = now() - tc;
    rmSync(copyTo, { force: true });

    progress("workspace: launch to ready");
    const t0 = now();
    const ws = await call("POST", "/v1/permits/P-BENCH/workspaces", alice, { hours: 2 });
    let status = ws.status;
    while (status === "provisioning") {
      await new Promise((r) => setTimeout(r, 5));
      status = (await call("GET", `/v1/workspaces/${ws.id}`, alice)).status;
    }
    const readyMs = now() - t0;
    if (status !== "ready") throw new Error(`workspace ended ${status}`);
    emit({
      bench: "workspace",
      figure: "launch_to_ready",
      staged_mb: round(bytes / 1024 / 1024, 1),
      ready_ms: round(readyMs, 0),
      staged_mb_per_s: round(bytes / 1024 / 1024 / (readyMs / 1000), 1),
      copy_ms: round(copyMs, 0),
      ratio_vs_copy: round(readyMs / copyMs, 1),
      target: "ready_ms < 3000",
      met: readyMs < 3000,
    });

    progress(`workspace: ${JOBS} no-op jobs`);
    const roundTrips: number[] = [];
    for (let i = 0; i < JOBS; i++) {
      const t = now();
      const job = await call("POST", `/v1/workspaces/${ws.id}/jobs`, alice, { command: ["true"] });
      let s = job.status;
      while (s === "queued" || s === "running") {
        await new Promise((r) => setTimeout(r, 1));
        s = (await call("GET", `/v1/workspaces/${ws.id}/jobs/${job.id}`, alice)).status;
      }
      if (s !== "succeeded") throw new Error(`no-op job ended ${s}`);
      roundTrips.push(now() - t);
    }
    const direct: number[] = [];
    const sandboxed: number[] = [];
    const bwrap = bwrapPath();
    for (let i = 0; i < Math.min(JOBS, 20); i++) {
      direct.push(await spawnWait("/usr/bin/true", []));
      if (bwrap) {
        const args = bwrapArgs({
          root: join(node.runDir, ws.id as string),
          command: ["true"],
          timeoutMs: 10_000,
          memoryMiB: 1024,
          isolation: "bubblewrap",
        });
        sandboxed.push(await spawnWait(bwrap, args));
      }
    }
    const sorted = Float64Array.from(roundTrips).sort();
    const p50 = percentile(sorted, 50);
    emit({
      bench: "workspace",
      figure: "noop_job_round_trip",
      jobs: JOBS,
      p50_ms: round(p50, 1),
      p99_ms: round(percentile(sorted, 99), 1),
      spawn_true_p50_ms: round(median(direct), 1),
      bwrap_true_p50_ms: sandboxed.length ? round(median(sandboxed), 1) : null,
      ratio_vs_bwrap: sandboxed.length ? round(p50 / median(sandboxed), 1) : null,
      target: "p50_ms < 150",
      met: p50 < 150,
    });

    progress("workspace: egress request of ten 1 MB CSVs");
    // Ten 1 MB aggregate tables written by a job, then one request naming them all.
    const script = [
      "import random",
      "random.seed(7)",
      "for f in range(10):",
      "    with open(f'outputs/table{f}.csv', 'w') as out:",
      "        out.write('district,stage,year,n\\n')",
      "        size = 0",
      "        while size < 1024 * 1024:",
      "            line = f\"d{random.randint(1, 99)},{random.choice('I II III IV'.split())},{random.randint(2010, 2023)},{random.randint(10, 5000)}\\n\"",
      "            out.write(line)",
      "            size += len(line)",
    ].join("\n");
    const job = await call("POST", `/v1/workspaces/${ws.id}/jobs`, alice, { command: ["python3", "-c", script] });
    let js = job.status;
    while (js === "queued" || js === "running") {
      await new Promise((r) => setTimeout(r, 20));
      js = (await call("GET", `/v1/workspaces/${ws.id}/jobs/${job.id}`, alice)).status;
    }
    if (js !== "succeeded") throw new Error(`writing the tables: job ${js}`);
    const files = Array.from({ length: 10 }, (_, f) => `outputs/table${f}.csv`);
    const te = now();
    const eg = await call("POST", `/v1/workspaces/${ws.id}/egress-requests`, alice, {
      files,
      justification: "benchmark",
    });
    const egressMs = now() - te;
    emit({
      bench: "workspace",
      figure: "egress_request",
      files: 10,
      mb: 10,
      to_pending_review_ms: round(egressMs, 0),
      status: String(eg.status),
      verdict: String(eg.verdict),
      target: "to_pending_review_ms < 1000",
      met: egressMs < 1000 && eg.status === "pending_review",
    });
  } finally {
    await server.shutdown();
    rmSync(node.runDir, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  }
}

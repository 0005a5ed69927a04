/** Helpers for tests that run jobs in real sandboxes: wait for a job to end, read every file under a tree. */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { TestNode } from "./node";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls the job until it is no longer queued or running. */
export async function waitJob(n: TestNode, token: string, wsId: string, jobId: string, timeoutMs = 20_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = await n.call("GET", `/v1/workspaces/${wsId}/jobs/${jobId}`, { token });
    if (r.status !== 200) throw new Error(`job read: ${r.status} ${JSON.stringify(r.body)}`);
    if (r.body.status !== "queued" && r.body.status !== "running") return r.body;
    if (Date.now() > until) throw new Error(`job ${jobId} still ${r.body.status}`);
    await sleep(25);
  }
}

/** Submits a job and waits for its end. */
export async function runJob(
  n: TestNode,
  token: string,
  wsId: string,
  command: string[],
  extra: Record<string, unknown> = {},
) {
  const r = await n.call("POST", `/v1/workspaces/${wsId}/jobs`, { token, body: { command, ...extra } });
  if (r.status !== 202) throw new Error(`job submit: ${r.status} ${JSON.stringify(r.body)}`);
  return waitJob(n, token, wsId, r.body.id);
}

/** Every regular file under `dir` (recursively), with its bytes. Missing dirs yield nothing. */
export function* filesUnder(dir: string): Generator<{ path: string; bytes: Buffer }> {
  let entries: import("node:fs").Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* filesUnder(p);
    else if (e.isFile()) yield { path: p, bytes: readFileSync(p) };
  }
}

/** Paths of the files under the dirs that contain any of the needles. */
export function filesContaining(dirs: string[], needles: string[]): string[] {
  const hits: string[] = [];
  for (const dir of dirs) {
    for (const f of filesUnder(dir)) if (needles.some((x) => f.bytes.includes(x))) hits.push(f.path);
  }
  return hits;
}

/**
 * The server side of the API benchmark, run in its own process (`child_process.fork` from bench/api.ts) so
 * the load generator and the server do not share an event loop. It builds a real node over a temp data
 * dir, seeds the demo, adds a bare hono route as the baseline, launches one workspace for the GET figure,
 * creates `BENCH_PERMITS` permits (50 concurrent workspaces each) for the launch figure, then prints one
 * JSON line on stdout: `{ url, tokens, workspaceId, permits }`. It stops on SIGTERM or when the parent's
 * IPC channel closes, and removes its data dir.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Actor, Permit, PermitInput, Workspace } from "@spe/core";
import { createNode, DEMO_DATASET_ID, DEMO_PERMIT_ID, DEMO_USERS, issueToken, seedDemo, serve } from "@spe/local";

export interface ServerInfo {
  url: string;
  tokens: { researcher: string; admin: string };
  workspaceId: string;
  permits: string[];
  dataDir: string;
}

const permitCount = Number(process.env.BENCH_PERMITS ?? 400);

const dataDir = mkdtempSync(join(tmpdir(), "spe-bench-api-"));
const node = createNode({ dataDir, log: () => {} });
await seedDemo(node.deps, dataDir);
// Registered after createApp: it runs the app-wide middleware (request log, secure headers) but not the
// /v1/* chain (body limit, JSON-only, JWT authentication), i.e. what hono + node-server cost on their own.
node.app.get("/bare", (c) => c.json({ ok: true }));

const researcher: Actor = { sub: DEMO_USERS.researcher, roles: ["researcher"] };
const admin: Actor = { sub: DEMO_USERS.admin, roles: ["admin"] };

const { workspace } = await Workspace.launch(node.deps, researcher, DEMO_PERMIT_ID, { hours: 4 });

const now = Date.now();
const permits: string[] = [];
for (let i = 0; i < permitCount; i++) {
  const id = `BENCH-PT-${String(i).padStart(5, "0")}`;
  await Permit.create(
    node.deps,
    admin,
    PermitInput.parse({
      id,
      title: `Launch benchmark permit ${i}`,
      purpose: "scientific_research",
      dataUser: "Bench University",
      principalInvestigator: DEMO_USERS.researcher,
      researchers: [DEMO_USERS.researcher],
      datasets: [DEMO_DATASET_ID],
      validFrom: new Date(now - 86_400_000).toISOString(),
      validUntil: new Date(now + 30 * 86_400_000).toISOString(),
      limits: { maxConcurrentWorkspaces: 50 },
    }),
  );
  permits.push(id);
}
await node.dispatcher.idle(); // the GET target is `ready` before measuring

const server = await serve(node, 0);
const info: ServerInfo = {
  url: server.url,
  tokens: {
    researcher: await issueToken(node.issuerKey, DEMO_USERS.researcher, ["researcher"], 3600),
    admin: await issueToken(node.issuerKey, DEMO_USERS.admin, ["admin"], 3600),
  },
  workspaceId: workspace.id,
  permits,
  dataDir,
};
process.stdout.write(`${JSON.stringify(info)}\n`);

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  try {
    await server.shutdown(); // waits for dispatched provisioning, seals the audit head, closes SQLite
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
    process.exit(0);
  }
}
process.on("SIGTERM", stop);
process.on("disconnect", stop);

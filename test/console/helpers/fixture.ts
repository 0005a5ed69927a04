/**
 * The console tests' world: a real node served on 127.0.0.1, a dataset and permits registered through the
 * API, a workspace launched and its outputs written by real jobs in real sandboxes, and egress requests
 * made through the API, exactly as a researcher would (test/e2e/egress.test.ts does the same).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { App } from "@spe/api";
import { type NodeOptions, type RunningServer, serve } from "@spe/local";
import { launchReady, permitBody } from "../../helpers/fixtures";
import { runJob } from "../../helpers/jobs";
import { makeNode, TestClock, type TestNode } from "../../helpers/node";

export const PERMIT = "PT-CON-1";
export const BLIND_PERMIT = "PT-CON-2";

export interface Tokens {
  admin: string;
  alice: string;
  /** alice holding the reviewer role too: she must still not review her own requests. */
  aliceReviewer: string;
  rui: string;
  vera: string;
  auditor: string;
}

export interface World {
  n: TestNode;
  server: RunningServer;
  url: string;
  t: Tokens;
  /** Workspaces of alice under PERMIT and BLIND_PERMIT. */
  ws: string;
  blindWs: string | null;
  /** The data holder's directory (dataset sources must lie in it). */
  holder: string;
  close(): Promise<void>;
}

export interface WorldOptions {
  /** Also a permit needing two reviewers, with a workspace of alice. */
  blind?: boolean;
  /** Only the node and its tokens: no dataset, permit or workspace. */
  bare?: boolean;
  /** Options of the node (an external OIDC issuer ...). */
  node?: Omit<Partial<NodeOptions>, "clock">;
  /** Serves this app instead of the node's own, built once the server's URL is known. */
  app?: (n: TestNode, url: string) => App;
}

/**
 * Starts a node over a fresh data directory and serves it; registers a dataset and the permits (the
 * second one, needing two reviewers, only when `blind`), and launches alice's workspaces.
 */
export async function startWorld(opts: WorldOptions = {}): Promise<World> {
  const holder = mkdtempSync(join(tmpdir(), "spe-console-holder-"));
  mkdirSync(join(holder, "onc"));
  writeFileSync(join(holder, "onc", "registry.csv"), "patient_id,stage\nPT-CO-0001,II\nPT-CO-0002,III\n");
  const n = makeNode({ sourceRoots: [holder], clock: new TestClock(Date.now(), true), ...opts.node });
  const t: Tokens = {
    admin: await n.token("ana", "admin"),
    alice: await n.token("alice", "researcher"),
    aliceReviewer: await n.token("alice", "researcher", "reviewer"),
    rui: await n.token("rui", "reviewer"),
    vera: await n.token("vera", "reviewer"),
    auditor: await n.token("otto", "auditor"),
  };
  let custom: App | null = null;
  const server = await serve(
    opts.app ? { ...n, app: { fetch: (req: Request) => (custom as App).fetch(req) } as unknown as App } : n,
    0,
  );
  if (opts.app) custom = opts.app(n, server.url);
  const world: World = {
    n,
    server,
    url: server.url,
    t,
    ws: "",
    blindWs: null,
    holder,
    async close() {
      await server.shutdown();
      await n.dispose();
      rmSync(holder, { recursive: true, force: true });
    },
  };
  if (opts.bare) return world;
  const must = async (res: Promise<{ status: number; body: unknown }>, status: number) => {
    const r = await res;
    if (r.status !== status) throw new Error(`setup: ${r.status} ${JSON.stringify(r.body)}`);
  };
  await must(
    n.call("POST", "/v1/datasets", {
      token: t.admin,
      body: {
        id: "ds-onc",
        title: "Oncology registry",
        holder: "Registo Oncológico",
        source: pathToFileURL(join(holder, "onc")).href,
        format: "csv",
        identifierColumns: ["patient_id"],
      },
    }),
    201,
  );
  await must(
    n.call("POST", "/v1/permits", {
      token: t.admin,
      body: permitBody(n, { id: PERMIT, title: "Survival by stage", datasets: ["ds-onc"] }),
    }),
    201,
  );
  world.ws = (await launchReady(n, t.alice, PERMIT)).id;
  if (opts.blind) {
    await must(
      n.call("POST", "/v1/permits", {
        token: t.admin,
        body: permitBody(n, {
          id: BLIND_PERMIT,
          title: "Incidence by district",
          datasets: ["ds-onc"],
          egress: { reviewersRequired: 2 },
        }),
      }),
      201,
    );
    world.blindWs = (await launchReady(n, t.alice, BLIND_PERMIT)).id;
  }
  return world;
}

/** Writes files into the workspace's outputs/ with one job (the only way a researcher can). */
export async function writeOutputs(w: World, ws: string, files: Record<string, string | Uint8Array>) {
  const payload = Buffer.from(
    JSON.stringify(Object.fromEntries(Object.entries(files).map(([k, v]) => [k, Buffer.from(v).toString("base64")]))),
  ).toString("base64");
  const job = await runJob(w.n, w.t.alice, ws, [
    "python3",
    "-c",
    `import base64,json,os
for name, b64 in json.loads(base64.b64decode('${payload}')).items():
    p = os.path.join('outputs', name)
    os.makedirs(os.path.dirname(p) or '.', exist_ok=True)
    open(p, 'wb').write(base64.b64decode(b64))`,
  ]);
  if (job.status !== "succeeded") throw new Error(`job ${job.status}: ${job.stderr ?? ""}`);
}

/** Makes an egress request through the API as `token`; returns its id. */
export async function requestEgress(w: World, ws: string, files: string[], justification = "Table 2 of the paper") {
  const r = await w.n.call("POST", `/v1/workspaces/${ws}/egress-requests`, {
    token: w.t.alice,
    body: { files: files.map((f) => `outputs/${f}`), justification },
  });
  if (r.status !== 201) throw new Error(`egress request: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.id as string;
}

export async function getRequest(w: World, id: string) {
  return (await w.n.call("GET", `/v1/egress-requests/${id}`, { token: w.t.admin })).body;
}

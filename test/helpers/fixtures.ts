/** Builders for the common arrangement: an admin, researchers, a reviewer, an auditor, a dataset and a permit. */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { TestNode } from "./node";

export const DAY = 86_400_000;
export const HOUR = 3_600_000;

export interface World {
  admin: string;
  alice: string;
  carol: string;
  /** A researcher not named on the permit. */
  bob: string;
  reviewer: string;
  auditor: string;
  /** alice, holding the reviewer role too. */
  aliceReviewer: string;
  permitId: string;
  datasetId: string;
}

export function datasetSource(n: TestNode, name = "oncology"): string {
  const dir = join(n.dataDir, "holder", name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "registry.csv"), "patient_id,stage\nP1,II\n");
  return pathToFileURL(dir).href;
}

export function permitBody(n: TestNode, overrides: Record<string, unknown> = {}) {
  return {
    id: "HDAB-PT-2026-0042",
    title: "Survival by stage",
    purpose: "scientific_research",
    dataUser: "Universidade do Porto",
    principalInvestigator: "alice",
    researchers: ["alice", "carol"],
    datasets: ["ds-oncology-2024"],
    validFrom: new Date(n.clock.t - DAY).toISOString(),
    validUntil: new Date(n.clock.t + 30 * DAY).toISOString(),
    ...overrides,
  };
}

export async function seedWorld(n: TestNode, permitOverrides: Record<string, unknown> = {}): Promise<World> {
  const w = {
    admin: await n.token("ana", "admin"),
    alice: await n.token("alice", "researcher"),
    carol: await n.token("carol", "researcher"),
    bob: await n.token("bob", "researcher"),
    reviewer: await n.token("rui", "reviewer"),
    auditor: await n.token("otto", "auditor"),
    aliceReviewer: await n.token("alice", "researcher", "reviewer"),
    permitId: (permitOverrides.id as string) ?? "HDAB-PT-2026-0042",
    datasetId: "ds-oncology-2024",
  };
  const ds = await n.call("POST", "/v1/datasets", {
    token: w.admin,
    body: {
      id: w.datasetId,
      title: "Oncology registry",
      holder: "Registry",
      source: datasetSource(n),
      format: "csv",
      identifierColumns: ["patient_id"],
    },
  });
  if (ds.status !== 201) throw new Error(`dataset: ${JSON.stringify(ds.body)}`);
  const p = await n.call("POST", "/v1/permits", { token: w.admin, body: permitBody(n, permitOverrides) });
  if (p.status !== 201) throw new Error(`permit: ${JSON.stringify(p.body)}`);
  return w;
}

/** Launches a workspace as `token` and waits until provisioning is done. */
export async function launchReady(n: TestNode, token: string, permitId: string, hours = 2) {
  const res = await n.call("POST", `/v1/permits/${permitId}/workspaces`, { token, body: { hours } });
  if (res.status !== 202) throw new Error(`launch: ${res.status} ${JSON.stringify(res.body)}`);
  await n.dispatcher.idle();
  return (await n.call("GET", `/v1/workspaces/${res.body.id}`, { token })).body as {
    id: string;
    status: string;
    expiresAt: string;
  };
}

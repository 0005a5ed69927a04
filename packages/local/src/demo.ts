/**
 * The demo a first `npm start` seeds: a deterministic synthetic oncology registry (no real person in it),
 * registered as a dataset, and a permit naming two researchers. Seeded through the use cases, so the
 * audit trail records it like any admin action.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import {
  type Actor,
  Dataset,
  type Deps,
  Files,
  LIVE_STATUSES,
  mulberry32,
  Permit,
  PermitInput,
  Workspace,
  type Workspace as WorkspaceT,
} from "@spe/core";
import { dataPaths } from "./node";

export const DEMO_DATASET_ID = "ds-oncology-demo";
export const DEMO_PERMIT_ID = "HDAB-PT-DEMO-0001";
export const DEMO_USERS = {
  researcher: "alice",
  coResearcher: "carol",
  reviewer: "rui",
  admin: "ana",
  auditor: "otto",
} as const;

const DISTRICTS = ["Porto", "Lisboa", "Braga", "Coimbra", "Aveiro", "Faro", "Setúbal", "Viseu", "Leiria", "Évora"];
const ICD10 = ["C18.9", "C34.1", "C50.9", "C61", "C67.9", "C16.9", "C25.9", "C43.9", "C56", "C73"];
const STAGES = ["I", "II", "III", "IV"];

/** A Portuguese NIF-shaped number with a valid check digit (synthetic). */
function nif(rand: () => number): string {
  const digits = [1 + Math.floor(rand() * 2), ...Array.from({ length: 7 }, () => Math.floor(rand() * 10))];
  const sum = digits.reduce((s, d, i) => s + d * (9 - i), 0);
  const check = 11 - (sum % 11);
  return digits.join("") + String(check >= 10 ? 0 : check);
}

export function demoRegistryCsv(rows = 4000): string {
  const rand = mulberry32(20260101);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)] as T;
  const lines = ["patient_id,nif,birth_date,sex,district,icd10,stage,diagnosis_year,survival_months,vital_status"];
  for (let i = 1; i <= rows; i++) {
    const year = 1935 + Math.floor(rand() * 60);
    const birth = `${year}-${String(1 + Math.floor(rand() * 12)).padStart(2, "0")}-${String(1 + Math.floor(rand() * 28)).padStart(2, "0")}`;
    const dx = 2010 + Math.floor(rand() * 14);
    const stage = pick(STAGES);
    const hazard = { I: 0.08, II: 0.15, III: 0.3, IV: 0.55 }[stage] ?? 0.2;
    const deceased = rand() < hazard * 1.5;
    const maxMonths = (2024 - dx) * 12;
    const survival = deceased ? Math.max(1, Math.floor(rand() * maxMonths * (1 - hazard))) : maxMonths;
    lines.push(
      [
        `P${String(100000 + i)}`,
        nif(rand),
        birth,
        rand() < 0.5 ? "F" : "M",
        pick(DISTRICTS),
        pick(ICD10),
        stage,
        dx,
        survival,
        deceased ? "deceased" : "alive",
      ].join(","),
    );
  }
  return `${lines.join("\n")}\n`;
}

/** Writes the demo dataset and registers the demo dataset and permit, unless already there. */
export async function seedDemo(deps: Deps, dataDir: string): Promise<{ seeded: boolean }> {
  if (await deps.store.get("permit", DEMO_PERMIT_ID)) return { seeded: false };
  const dir = join(dataPaths(dataDir).holder, "oncology");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const csv = demoRegistryCsv();
  writeFileSync(join(dir, "registry.csv"), csv, { mode: 0o600 });
  const admin: Actor = { sub: DEMO_USERS.admin, roles: ["admin"] };
  if (!(await deps.store.get("dataset", DEMO_DATASET_ID))) {
    await Dataset.create(deps, admin, {
      id: DEMO_DATASET_ID,
      title: "Synthetic oncology registry (demo, no real persons)",
      holder: "Demo Cancer Registry",
      source: pathToFileURL(dir).href,
      format: "csv",
      identifierColumns: ["patient_id", "nif"],
    });
  }
  const now = deps.clock.now();
  await Permit.create(
    deps,
    admin,
    PermitInput.parse({
      id: DEMO_PERMIT_ID,
      title: "Survival by stage and district, 2010-2023 (demo)",
      purpose: "scientific_research",
      dataUser: "Demo University",
      principalInvestigator: DEMO_USERS.researcher,
      researchers: [DEMO_USERS.researcher, DEMO_USERS.coResearcher],
      datasets: [DEMO_DATASET_ID],
      validFrom: new Date(now.getTime() - 86_400_000).toISOString(),
      validUntil: new Date(now.getTime() + 365 * 86_400_000).toISOString(),
    }),
  );
  return { seeded: true };
}

export const demoChecksum = () => createHash("sha256").update(demoRegistryCsv()).digest("hex");

/** The example analysis shipped with the demo (examples/crosstab.py), uploaded as `home/crosstab.py`. */
export const DEMO_SCRIPT = "crosstab.py";
const exampleScript = () => readFileSync(new URL("../../../examples/crosstab.py", import.meta.url));

/**
 * Gives the demo researcher a ready workspace on the demo permit with the example analysis in its home,
 * reusing a live one from an earlier start. `settle` waits for provisioning (the dispatcher's idle()).
 */
export async function demoWorkspace(deps: Deps, settle: () => Promise<void>): Promise<WorkspaceT | null> {
  const alice: Actor = { sub: DEMO_USERS.researcher, roles: ["researcher"] };
  const live = await Workspace.list(deps, alice, { limit: 50, permitId: DEMO_PERMIT_ID });
  let ws = live.items.find((w) => LIVE_STATUSES.includes(w.status));
  if (!ws) {
    ws = (await Workspace.launch(deps, alice, DEMO_PERMIT_ID, { hours: 8 })).workspace;
  }
  await settle();
  const ready = await Workspace.get(deps, alice, ws.id);
  if (ready.status !== "ready") return ready;
  const home = await Files.list(deps, alice, ready.id, "home");
  if (!home.some((f) => f.path === `home/${DEMO_SCRIPT}`)) {
    await Files.upload(deps, alice, ready.id, DEMO_SCRIPT, exampleScript());
  }
  return ready;
}

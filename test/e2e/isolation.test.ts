/**
 * Isolated workspaces end to end on a real node: pseudonymised, encrypted staging; jobs in bubblewrap;
 * uploads that cannot escape home/; termination that wipes plaintext; crypto-shredding of a permit.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { objectKeys, stagedFiles } from "@spe/core";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DAY, HOUR, launchReady, permitBody } from "../helpers/fixtures";
import { filesContaining, runJob, waitJob } from "../helpers/jobs";
import { makeNode, type TestNode } from "../helpers/node";

const IDS = ["PT-ALPHA-0001", "PT-BRAVO-0002", "PT-CHARLIE-0003"];
const NIFS = ["NIF900000001", "NIF900000002", "NIF900000003"];
const RARE = "ZETA-RARE-VALUE";
const CSV = [
  "patient_id,nif,stage,outcome",
  `${IDS[0]},${NIFS[0]},II,${RARE}`,
  `"${IDS[1]}",${NIFS[1]},III,alive`,
  `${IDS[2]},${NIFS[2]},II,alive`,
  `${IDS[0]},${NIFS[0]},IV,deceased`,
].join("\n");

let holder: string;
beforeAll(() => {
  holder = mkdtempSync(join(tmpdir(), "spe-holder-"));
  mkdirSync(join(holder, "oncology"));
  writeFileSync(join(holder, "oncology", "registry.csv"), `${CSV}\n`);
  writeFileSync(join(holder, "broken.csv"), "stage,outcome\nII,alive\n");
});
afterAll(() => rmSync(holder, { recursive: true, force: true }));

let n: TestNode;
let t: Record<"admin" | "alice" | "carol" | "auditor", string>;
const PERMIT = "PT-ISO-1";

async function permit(id: string, datasets = ["ds-onc"], extra: Record<string, unknown> = {}) {
  const r = await n.call("POST", "/v1/permits", {
    token: t.admin,
    body: permitBody(n, { id, datasets, ...extra }),
  });
  expect(r.status).toBe(201);
}

beforeEach(async () => {
  n = makeNode({ sourceRoots: [holder] });
  t = {
    admin: await n.token("ana", "admin"),
    alice: await n.token("alice", "researcher"),
    carol: await n.token("carol", "researcher"),
    auditor: await n.token("otto", "auditor"),
  };
  const ds = await n.call("POST", "/v1/datasets", {
    token: t.admin,
    body: {
      id: "ds-onc",
      title: "Oncology",
      holder: "Registry",
      source: pathToFileURL(join(holder, "oncology")).href,
      format: "csv",
      identifierColumns: ["patient_id", "nif"],
    },
  });
  expect(ds.status).toBe(201);
  await permit(PERMIT);
});
afterEach(() => n.dispose());

const ws = (id: string, token = t.alice) => n.call("GET", `/v1/workspaces/${id}`, { token });
const upload = (id: string, path: string, content: string | Buffer, token = t.alice) =>
  n.app.request(`/v1/workspaces/${id}/files/home/${path}`, {
    method: "PUT",
    headers: { authorization: `Bearer ${token}`, "content-type": "text/plain" },
    body: content,
  });
/** The workspace's staged view, read on the host (job output redacts identifiers). */
const cat = async (id: string, file = "data/ds-onc/registry.csv") => readFileSync(join(n.runDir, id, file), "utf8");

describe("staging", () => {
  it("stages pseudonymised data: no original identifier anywhere on disk, and the manifest matches what jobs see", async () => {
    const w = await launchReady(n, t.alice, PERMIT);
    const view = (await ws(w.id)).body;
    expect(view.manifest).toEqual([
      { dataset: "ds-onc", path: "ds-onc/registry.csv", bytes: expect.any(Number), sha256: expect.any(String) },
    ]);
    const seen = await runJob(n, t.alice, w.id, ["sha256sum", "data/ds-onc/registry.csv"]);
    expect(seen.stdout.split(" ")[0]).toBe(view.manifest[0].sha256);

    const staged = await cat(w.id);
    for (const id of [...IDS, ...NIFS]) expect(staged).not.toContain(id);
    expect(staged).toContain(RARE); // other columns pass through untouched
    const rows = staged
      .trim()
      .split("\n")
      .map((l) => l.split(","));
    expect(rows[0]).toEqual(["patient_id", "nif", "stage", "outcome"]);
    expect(rows[1]?.[0]).toMatch(/^p[a-z2-7]{16}$/);
    expect(rows[1]?.[0]).toBe(rows[4]?.[0]); // the same person, the same pseudonym

    // At rest everything is encrypted: neither identifiers nor other values are in the data dir.
    expect(filesContaining([n.dataDir], [...IDS, ...NIFS, RARE])).toEqual([]);
    expect(filesContaining([n.runDir], [...IDS, ...NIFS])).toEqual([]);
  });

  it("gives a person the same pseudonym in every workspace of a permit and a different one under another permit", async () => {
    await permit("PT-ISO-2", ["ds-onc"], { researchers: ["alice"], principalInvestigator: "alice" });
    const a = await launchReady(n, t.alice, PERMIT);
    const b = await launchReady(n, t.carol, PERMIT);
    const c = await launchReady(n, t.alice, "PT-ISO-2");
    const first = (s: string) => s.split("\n")[1]?.split(",")[0];
    const pa = first(await cat(a.id));
    expect(pa).toMatch(/^p[a-z2-7]{16}$/);
    expect(first(await cat(b.id))).toBe(pa);
    expect(first(await cat(c.id))).not.toBe(pa);
  });

  it("fails the workspace with a clear reason and keeps nothing when an identifier column is missing", async () => {
    await n.call("POST", "/v1/datasets", {
      token: t.admin,
      body: {
        id: "ds-broken",
        title: "Broken",
        holder: "Registry",
        source: pathToFileURL(join(holder, "broken.csv")).href,
        format: "csv",
        identifierColumns: ["patient_id"],
      },
    });
    await permit("PT-ISO-BROKEN", ["ds-onc", "ds-broken"]);
    const r = await n.call("POST", "/v1/permits/PT-ISO-BROKEN/workspaces", { token: t.alice, body: { hours: 1 } });
    await n.dispatcher.idle();
    const failed = (await ws(r.body.id)).body;
    expect(failed).toMatchObject({ status: "failed", terminationReason: "error" });
    expect(failed.failureReason).toContain("patient_id");
    expect(await n.runtime.exists(r.body.id)).toBe(false);
    expect(await n.deps.objects.list(`permits/PT-ISO-BROKEN/`)).toEqual([]);
  });

  it("detects a flipped bit and a truncated chunk in a staged file", async () => {
    const w = await launchReady(n, t.alice, PERMIT);
    const key = objectKeys(PERMIT, w.id).stagedFile("ds-onc/registry.csv");
    const file = join(n.dataDir, "objects", ...key.split("/"));
    const { readFileSync } = await import("node:fs");
    const original = readFileSync(file);
    const read = async () => {
      const [staged] = await stagedFiles(n.deps, (await ws(w.id)).body);
      for await (const _ of staged?.open() ?? []);
    };
    await expect(read()).resolves.toBeUndefined();
    const flipped = Buffer.from(original);
    flipped[flipped.length - 20] = (flipped[flipped.length - 20] ?? 0) ^ 1;
    writeFileSync(file, flipped);
    await expect(read()).rejects.toMatchObject({ code: "staging.integrity" });
    writeFileSync(file, original.subarray(0, original.length - 5));
    await expect(read()).rejects.toMatchObject({ code: "staging.integrity" });
  });
});

describe("jobs", () => {
  it("redacts known identifiers (pseudonyms) from job output, keeping the rest", async () => {
    const w = await launchReady(n, t.alice, PERMIT);
    const job = await runJob(n, t.alice, w.id, ["cat", "data/ds-onc/registry.csv"]);
    const pseudonym = (await cat(w.id)).split("\n")[1]?.split(",")[0] as string;
    expect(job.stdout).not.toContain(pseudonym);
    expect(job.stdout).toContain("[identifier]");
    expect(job.stdout).toContain(RARE);
    const audit = await n.call("GET", `/v1/audit?workspaceId=${w.id}&action=job.finished`, { token: t.auditor });
    expect(audit.body.items[0].details.identifiersRedacted).toBe(8); // 4 rows x 2 identifier columns
  });

  it("runs an uploaded analysis that writes outputs, listed with hashes; the audit trail holds hashes, not content", async () => {
    const w = await launchReady(n, t.alice, PERMIT);
    const script = [
      "import csv, collections",
      "rows = list(csv.DictReader(open('data/ds-onc/registry.csv')))",
      "n = collections.Counter(r['stage'] for r in rows)",
      "with open('outputs/by_stage.csv', 'w') as f:",
      "    f.write('stage,n\\n' + ''.join(f'{k},{v}\\n' for k, v in sorted(n.items())))",
      "print('rows', len(rows))",
    ].join("\n");
    const up = await upload(w.id, "analysis/stage.py", script);
    expect(up.status).toBe(201);
    const stored = (await up.json()) as { path: string; bytes: number; sha256: string };
    expect(stored).toMatchObject({ path: "home/analysis/stage.py", bytes: Buffer.byteLength(script) });

    const job = await runJob(n, t.alice, w.id, ["python3", "home/analysis/stage.py"]);
    expect(job).toMatchObject({ status: "succeeded", exitCode: 0, stdout: "rows 4\n", stderr: "" });
    const outs = await n.call("GET", `/v1/workspaces/${w.id}/files?dir=outputs`, { token: t.alice });
    expect(outs.body.items).toEqual([
      { path: "outputs/by_stage.csv", bytes: 24, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
    ]);

    const audit = await n.call("GET", `/v1/audit?workspaceId=${w.id}`, { token: t.auditor });
    const actions = audit.body.items.map((r: { action: string }) => r.action);
    expect(actions).toEqual(
      expect.arrayContaining(["workspace.file_uploaded", "job.submitted", "job.started", "job.finished"]),
    );
    const uploaded = audit.body.items.find((r: { action: string }) => r.action === "workspace.file_uploaded");
    expect(uploaded.details).toMatchObject({ sha256: stored.sha256, bytes: stored.bytes });
    expect(JSON.stringify(audit.body)).not.toContain("rows 4");
    expect(JSON.stringify(audit.body)).not.toContain("collections");
  });

  it("runs at most two jobs at once and queues the rest in order", async () => {
    const w = await launchReady(n, t.alice, PERMIT);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await n.call("POST", `/v1/workspaces/${w.id}/jobs`, {
        token: t.alice,
        body: { command: ["sleep", "0.4"] },
      });
      expect(r.status).toBe(202);
      ids.push(r.body.id);
    }
    const statuses = await Promise.all(
      ids.map(async (id) => (await n.call("GET", `/v1/workspaces/${w.id}/jobs/${id}`, { token: t.alice })).body.status),
    );
    expect(statuses).toEqual(["running", "running", "queued"]);
    // The limit is per workspace: another workspace's jobs start at once.
    const other = await launchReady(n, t.carol, PERMIT);
    const theirs = await n.call("POST", `/v1/workspaces/${other.id}/jobs`, {
      token: t.carol,
      body: { command: ["true"] },
    });
    expect(theirs.body.status).toBe("running");
    for (const id of ids) expect((await waitJob(n, t.alice, w.id, id)).status).toBe("succeeded");
  });

  it("still starts jobs when home/ is too big to list (recorded as such in the audit trail)", async () => {
    const w = await launchReady(n, t.alice, PERMIT);
    const many =
      "import os\nos.makedirs('home/venv', exist_ok=True)\nfor i in range(20001): open(f'home/venv/{i}', 'w').close()";
    expect((await runJob(n, t.alice, w.id, ["python3", "-c", many])).status).toBe("succeeded");
    expect((await runJob(n, t.alice, w.id, ["true"])).status).toBe("succeeded");
    const audit = await n.call("GET", `/v1/audit?workspaceId=${w.id}&action=job.started`, { token: t.auditor });
    expect(audit.body.items.at(-1).details).toMatchObject({ homeFiles: -1, homeSha256: null });
  });

  it("kills a job past its timeout", async () => {
    const w = await launchReady(n, t.alice, PERMIT);
    const job = await runJob(n, t.alice, w.id, ["sleep", "30"], { timeoutSeconds: 1 });
    expect(job).toMatchObject({ status: "timed_out", reason: expect.stringContaining("1 s") });
  });

  it("refuses jobs beyond the workspace's time, from others, and in a workspace that is not ready", async () => {
    const w = await launchReady(n, t.alice, PERMIT, 1);
    const post = (token: string, body: unknown) => n.call("POST", `/v1/workspaces/${w.id}/jobs`, { token, body });
    expect((await post(t.alice, { command: ["true"], timeoutSeconds: 2 * 3600 })).body.code).toBe(
      "job.timeout_over_remaining",
    );
    expect((await post(t.alice, { command: [] })).status).toBe(400);
    expect((await post(t.alice, { command: ["true"], shell: true })).status).toBe(400);
    expect((await post(t.carol, { command: ["true"] })).status).toBe(404);
    expect((await post(t.admin, { command: ["true"] })).status).toBe(403);
    await n.call("DELETE", `/v1/workspaces/${w.id}`, { token: t.alice });
    expect((await post(t.alice, { command: ["true"] })).body.code).toBe("workspace.not_ready");
  });
});

describe("escapes attempted from inside a job", () => {
  it("cannot reach the controller's port, its keys or data, another workspace, /etc/shadow, or write data/", async () => {
    const { serve } = await import("@spe/local");
    const server = await serve(n, 0);
    try {
      const mine = await launchReady(n, t.alice, PERMIT);
      const other = await launchReady(n, t.carol, PERMIT);
      const probe = [
        "import json, os, socket, sys",
        "port, master, db, other = sys.argv[1:5]",
        "def attempt(fn):",
        "    try:",
        "        fn()",
        "        return 'OPEN'",
        "    except Exception as e:",
        "        return type(e).__name__",
        "print(json.dumps({",
        "  'controller': attempt(lambda: socket.create_connection(('127.0.0.1', int(port)), timeout=1)),",
        "  'master_key': attempt(lambda: open(master, 'rb').read()),",
        "  'database': attempt(lambda: open(db, 'rb').read()),",
        "  'other_workspace': attempt(lambda: os.listdir(other)),",
        "  'shadow': attempt(lambda: open('/etc/shadow').read()),",
        "  'write_data': attempt(lambda: open('data/ds-onc/new.csv', 'w').write('x')),",
        "  'overwrite_data': attempt(lambda: open('data/ds-onc/registry.csv', 'a').write('x')),",
        "  'own_home': attempt(lambda: open('home/ok.txt', 'w').write('x')),",
        "}))",
      ].join("\n");
      expect((await upload(mine.id, "probe.py", probe)).status).toBe(201);
      const job = await runJob(n, t.alice, mine.id, [
        "python3",
        "home/probe.py",
        String(server.port),
        join(n.dataDir, "keys", "master.key"),
        join(n.dataDir, "spe.db"),
        join(n.runDir, other.id),
      ]);
      expect(job.status).toBe("succeeded");
      const seen = JSON.parse(job.stdout);
      expect(seen.own_home).toBe("OPEN"); // the probe itself works
      for (const k of ["controller", "master_key", "database", "other_workspace", "shadow", "write_data"]) {
        expect(seen[k], k).not.toBe("OPEN");
      }
      expect(seen.overwrite_data).not.toBe("OPEN");
    } finally {
      await server.shutdown().catch(() => {});
    }
  });
});

describe("uploads", () => {
  it.each([
    ["..%2Fescape.py", 400],
    ["a%2F..%2F..%2Fescape.py", 400],
    ["../../escape.py", 404], // resolved by URL parsing before routing: no upload route matches
    ["%2Fetc%2Fcron.d%2Fx", 400],
    ["bad%00name.py", 400],
    ["dir/", 400],
    [".", 400],
  ])("refuses %s and writes nothing", async (path, status) => {
    const w = await launchReady(n, t.alice, PERMIT);
    const r = await upload(w.id, path, "print(1)");
    expect(r.status).toBe(status);
    const home = await n.call("GET", `/v1/workspaces/${w.id}/files?dir=home`, { token: t.alice });
    expect(home.body.items).toEqual([]);
  });

  it("refuses an upload through a symlink a job planted, and writes nothing outside home/", async () => {
    const w = await launchReady(n, t.alice, PERMIT);
    const outside = join(n.dataDir, "victim");
    mkdirSync(outside);
    await runJob(n, t.alice, w.id, ["ln", "-s", outside, "home/link"]);
    await runJob(n, t.alice, w.id, ["ln", "-s", "/workspace/outputs", "home/out"]);
    expect((await upload(w.id, "link/planted.txt", "x")).status).toBe(400);
    expect((await upload(w.id, "out/planted.txt", "x")).status).toBe(400);
    const { readdirSync } = await import("node:fs");
    expect(readdirSync(outside)).toEqual([]);
    const outs = await n.call("GET", `/v1/workspaces/${w.id}/files?dir=outputs`, { token: t.alice });
    expect(outs.body.items).toEqual([]);
  });

  it("does not follow a symlink a job planted in outputs/ when listing", async () => {
    const w = await launchReady(n, t.alice, PERMIT);
    await runJob(n, t.alice, w.id, ["ln", "-s", "/etc/passwd", "outputs/passwd"]);
    await runJob(n, t.alice, w.id, ["ln", "-s", "/workspace/data", "outputs/data"]);
    const outs = await n.call("GET", `/v1/workspaces/${w.id}/files?dir=outputs`, { token: t.alice });
    expect(outs.body.items).toEqual([]);
  });

  it("refuses an upload over the limit with 413, and uploads to another's workspace with 404", async () => {
    const w = await launchReady(n, t.alice, PERMIT);
    expect((await upload(w.id, "big.bin", Buffer.alloc(1024 * 1024 + 1))).status).toBe(413);
    expect((await upload(w.id, "x.py", "1", t.carol)).status).toBe(404);
    expect((await upload("x".repeat(200), "x.py", "1")).status).toBe(400);
    expect((await upload(w.id, "ok.py", "1")).status).toBe(201);
  });
});

describe("termination and crypto-shredding", () => {
  it("kills running jobs, keeps outputs encrypted and leaves no plaintext behind", async () => {
    const w = await launchReady(n, t.alice, PERMIT);
    await runJob(n, t.alice, w.id, ["cp", "data/ds-onc/registry.csv", "outputs/copy.csv"]);
    const pseudonym = (await cat(w.id)).split("\n")[1]?.split(",")[0] as string;
    const running = await n.call("POST", `/v1/workspaces/${w.id}/jobs`, {
      token: t.alice,
      body: { command: ["sleep", "60"] },
    });
    expect((await n.call("DELETE", `/v1/workspaces/${w.id}`, { token: t.alice })).status).toBe(202);
    const job = await n.call("GET", `/v1/workspaces/${w.id}/jobs/${running.body.id}`, { token: t.alice });
    expect(job.body.status).toBe("cancelled");
    expect(await n.runtime.exists(w.id)).toBe(false);
    expect(filesContaining([n.dataDir, n.runDir], [pseudonym, RARE, ...IDS])).toEqual([]);
    const archived = await n.deps.objects.list(objectKeys(PERMIT, w.id).outputs);
    expect(archived.map((o) => o.key)).toEqual([objectKeys(PERMIT, w.id).output("copy.csv")]);
  });

  it("revoking destroys the permit key: nothing of the permit can be decrypted any more", async () => {
    const w = await launchReady(n, t.alice, PERMIT);
    const { readFileSync } = await import("node:fs");
    const wrapped = n.store.db.prepare("SELECT wrapped FROM permit_keys WHERE permit_id = ?").get(PERMIT) as {
      wrapped: Buffer;
    };
    const files = await stagedFiles(n.deps, (await ws(w.id)).body);
    const r = await n.call("POST", `/v1/permits/${PERMIT}/revoke`, { token: t.admin, body: { reason: "breach" } });
    expect(r.status).toBe(200);
    await expect(n.deps.keys.permitKeys(PERMIT)).rejects.toMatchObject({ code: "permit.key_destroyed" });
    await expect(async () => {
      for await (const _ of files[0]?.open() ?? []);
    }).rejects.toThrow();
    expect(await n.deps.objects.list(`permits/${PERMIT}/`)).toEqual([]);
    // Neither the database nor its WAL still holds the wrapped key.
    for (const f of ["spe.db", "spe.db-wal"]) {
      const bytes = (() => {
        try {
          return readFileSync(join(n.dataDir, f));
        } catch {
          return Buffer.alloc(0);
        }
      })();
      expect(bytes.includes(wrapped.wrapped)).toBe(false);
    }
    const audit = await n.call("GET", `/v1/audit?permitId=${PERMIT}&action=permit.key_destroyed`, {
      token: t.auditor,
    });
    expect(audit.body.items[0].details).toMatchObject({ reason: "revoked", keyExisted: true });
    const p = await n.call("GET", `/v1/permits/${PERMIT}`, { token: t.admin });
    expect(p.body.keyDestroyedAt).toEqual(expect.any(String));
  });

  it("destroys the keys of an expired permit after the grace period, not before", async () => {
    await launchReady(n, t.alice, PERMIT);
    n.clock.advance(31 * DAY); // the permit ends at +30 days
    await n.sweep();
    await expect(n.deps.keys.permitKeys(PERMIT)).resolves.toBeDefined();
    n.clock.advance(29 * DAY + HOUR);
    const report = await n.sweep();
    expect(report.keysDestroyed).toBe(1);
    await expect(n.deps.keys.permitKeys(PERMIT)).rejects.toMatchObject({ code: "permit.key_destroyed" });
  });
});

describe("runtime availability", () => {
  /** A dataset without identifier columns and permit `P` on another node; @returns alice's token. */
  async function minimalPermit(m: TestNode): Promise<string> {
    const admin = await m.token("ana", "admin");
    await m.call("POST", "/v1/datasets", {
      token: admin,
      body: {
        id: "ds-onc",
        title: "Oncology",
        holder: "Registry",
        source: pathToFileURL(join(holder, "oncology")).href,
        format: "csv",
      },
    });
    await m.call("POST", "/v1/permits", { token: admin, body: permitBody(m, { id: "P", datasets: ["ds-onc"] }) });
    return m.token("alice", "researcher");
  }

  it("refuses launches with runtime.unavailable and the install command when bubblewrap is missing", async () => {
    const m = makeNode({ sourceRoots: [holder], bwrapPath: null });
    try {
      const alice = await minimalPermit(m);
      const r = await m.call("POST", "/v1/permits/P/workspaces", { token: alice, body: { hours: 1 } });
      expect(r.status).toBe(503);
      expect(r.body).toMatchObject({ code: "runtime.unavailable" });
      expect(r.body.detail).toContain("apt-get install -y bubblewrap");
      expect((await m.call("GET", "/v1/workspaces", { token: alice })).body.items).toEqual([]);
    } finally {
      await m.dispose();
    }
  });

  it("marks every workspace of the unsandboxed development runtime with isolation none", async () => {
    const m = makeNode({ sourceRoots: [holder], runtime: "unsafe-process" });
    try {
      const alice = await minimalPermit(m);
      const w = await launchReady(m, alice, "P");
      expect((await m.call("GET", `/v1/workspaces/${w.id}`, { token: alice })).body.isolation).toBe("none");
      expect((await runJob(m, alice, w.id, ["cat", "data/ds-onc/registry.csv"])).stdout).toContain(RARE);
    } finally {
      await m.dispose();
    }
  });
});

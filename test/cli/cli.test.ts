/**
 * The `spe` command against a real node served over HTTP: main() runs in-process with SPE_URL and
 * SPE_TOKEN in the environment and its output captured; one test spawns the real binary.
 */
import { spawnSync } from "node:child_process";
import { createPublicKey } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { chainBatchKey, encodeBatch, type StoredAuditRecord, sealKey } from "@spe/core";
import { type RunningServer, serve } from "@spe/local";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spe } from "../helpers/cli";
import { makeNode, type TestNode } from "../helpers/node";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((done) => srv.listen(0, "127.0.0.1", done));
  const { port } = srv.address() as { port: number };
  await new Promise((done) => srv.close(done));
  return port;
}

const tmp = mkdtempSync(join(tmpdir(), "spe-cli-test-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Writes `value` as JSON into the temp dir and returns its path. */
function jsonFile(name: string, value: unknown): string {
  const path = join(tmp, name);
  writeFileSync(path, typeof value === "string" ? value : JSON.stringify(value));
  return path;
}

const source = (() => {
  const path = join(tmp, "registry.csv");
  writeFileSync(path, "patient_id,stage\n1,II\n2,III\n");
  return pathToFileURL(path).href;
})();

const datasetInput = (id: string) => ({
  id,
  title: `Registry ${id}`,
  holder: "Demo Cancer Registry",
  source,
  format: "csv",
  identifierColumns: ["patient_id"],
});

const permitInput = (id: string, datasetId: string) => ({
  id,
  title: `Study ${id}`,
  purpose: "scientific_research",
  dataUser: "Universidade do Porto",
  principalInvestigator: "alice",
  researchers: ["alice", "carol"],
  datasets: [datasetId],
  validFrom: "2026-01-01T00:00:00Z",
  validUntil: "2027-01-01T00:00:00Z",
  limits: { maxConcurrentWorkspaces: 2, maxWorkspaceHours: 8 },
});

describe("spe against a running node", () => {
  let node: TestNode;
  let server: RunningServer;
  let url: string;
  let admin: string;
  let alice: string;
  let auditor: string;

  /** Arranges a dataset and a permit naming alice and carol, through the API. */
  async function givenPermit(id: string): Promise<void> {
    const ds = await node.call("POST", "/v1/datasets", { token: admin, body: datasetInput(`ds-${id}`) });
    expect(ds.status).toBe(201);
    const p = await node.call("POST", "/v1/permits", { token: admin, body: permitInput(id, `ds-${id}`) });
    expect(p.status).toBe(201);
  }

  beforeAll(async () => {
    node = makeNode({ sourceRoots: [tmp] });
    server = await serve(node, 0);
    url = server.url;
    admin = await node.token("ana", "admin");
    alice = await node.token("alice", "researcher");
    auditor = await node.token("otto", "auditor");
  });

  afterAll(async () => {
    await server.shutdown();
    rmSync(node.dataDir, { recursive: true, force: true });
    rmSync(node.runDir, { recursive: true, force: true });
  });

  describe("token", () => {
    it("prints a token signed by the node's key that the server accepts", async () => {
      const made = await spe(["token", "--user", "ana", "--roles", "admin", "--data-dir", node.dataDir]);
      expect(made).toMatchObject({ code: 0, stderr: "" });
      const token = made.stdout.trim();
      expect(token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);

      const listed = await spe(["permits", "list"], { url, token });
      expect(listed.code).toBe(0);
      expect(listed.stderr).toBe("");
    });

    it("refuses an unknown role with exit 2 and prints no token", async () => {
      const r = await spe(["token", "--user", "bob", "--roles", "researcher,wizard", "--data-dir", node.dataDir]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr).toContain('unknown role "wizard"');
      expect(r.stderr).toContain("researcher, reviewer, admin, auditor");
    });

    it("asks to start the server when the data dir has no issuer key, and creates none", async () => {
      const empty = mkdtempSync(join(tmp, "no-key-"));
      const r = await spe(["token", "--user", "bob", "--roles", "researcher", "--data-dir", empty]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr).toContain("npm start");
      expect(existsSync(join(empty, "keys", "jwt-issuer.pem"))).toBe(false);
    });
  });

  describe("datasets", () => {
    it("creates a dataset from a JSON file, then lists and shows it", async () => {
      const file = jsonFile("ds-created.json", datasetInput("ds-created"));
      const created = await spe(["datasets", "create", "--file", file], { url, token: admin });
      expect(created.code).toBe(0);
      expect(created.stdout).toContain("created dataset ds-created");

      const listed = await spe(["datasets", "list", "--all"], { url, token: admin });
      expect(listed.code).toBe(0);
      expect(listed.stdout).toMatch(/^ID\s+FORMAT\s+HOLDER\s+CREATED\s+TITLE/);
      expect(listed.stdout).toMatch(/ds-created\s+csv\s+Demo Cancer Registry/);

      const shown = await spe(["datasets", "show", "ds-created"], { url, token: admin });
      expect(shown.stdout).toContain(`source:`);
      expect(shown.stdout).toContain(source);
    });

    it("prints the field errors of an invalid body (400), exits 1 and creates nothing", async () => {
      const file = jsonFile("ds-bad.json", { ...datasetInput("ds-bad"), format: "xls", colour: "red" });
      const r = await spe(["datasets", "create", "--file", file], { url, token: admin });
      expect(r.code).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(/^ {2}format: /m);
      expect(r.stderr).toMatch(/^ {2}\(body\): .*colour/m);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
      expect((await node.call("GET", "/v1/datasets/ds-bad", { token: admin })).status).toBe(404);
    });

    it("refuses a file that is not JSON before calling the server", async () => {
      const r = await spe(["datasets", "create", "--file", jsonFile("ds-broken.json", "{ nope")], {
        url,
        token: admin,
      });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("is not valid JSON");
    });

    it("prints one page with a hint, or every page with --all", async () => {
      for (const id of ["ds-page-1", "ds-page-2", "ds-page-3"]) {
        await node.call("POST", "/v1/datasets", { token: admin, body: datasetInput(id) });
      }
      const first = await spe(["datasets", "list", "--limit", "1"], { url, token: admin });
      expect(first.code).toBe(0);
      expect(first.stdout.trim().split("\n")).toHaveLength(2); // header and one row
      expect(first.stderr).toMatch(/add --all .* --cursor \S+/);

      const all = await spe(["--json", "datasets", "list", "--all", "--limit", "1"], { url, token: admin });
      const page = JSON.parse(all.stdout) as { items: { id: string }[]; next: string | null };
      expect(page.next).toBeNull();
      expect(page.items.map((d) => d.id)).toEqual(expect.arrayContaining(["ds-page-1", "ds-page-2", "ds-page-3"]));
      expect(all.stderr).toBe("");
    });
  });

  describe("permits", () => {
    it("creates, shows, suspends, reinstates and revokes a permit", async () => {
      await node.call("POST", "/v1/datasets", { token: admin, body: datasetInput("ds-permits") });
      const file = jsonFile("permit.json", permitInput("PT-CLI-1", "ds-permits"));

      const created = await spe(["permits", "create", "--file", file], { url, token: admin });
      expect(created.code).toBe(0);
      expect(created.stdout).toContain("created permit PT-CLI-1");

      const shown = await spe(["permits", "show", "PT-CLI-1"], { url, token: alice });
      expect(shown.code).toBe(0);
      expect(shown.stdout).toMatch(/^status:\s+active$/m);
      expect(shown.stdout).toMatch(/^researchers:\s+alice, carol$/m);

      const suspended = await spe(["permits", "suspend", "PT-CLI-1", "--reason", "audit pending"], {
        url,
        token: admin,
      });
      expect(suspended).toMatchObject({ code: 0, stdout: "suspended permit PT-CLI-1: now suspended\n" });
      expect((await spe(["permits", "show", "PT-CLI-1"], { url, token: admin })).stdout).toContain(
        "suspended (audit pending)",
      );

      const reinstated = await spe(["permits", "reinstate", "PT-CLI-1"], { url, token: admin });
      expect(reinstated).toMatchObject({ code: 0, stdout: "reinstated permit PT-CLI-1: now active\n" });

      const revoked = await spe(["permits", "revoke", "PT-CLI-1", "--reason", "breach"], { url, token: admin });
      expect(revoked).toMatchObject({ code: 0, stdout: "revoked permit PT-CLI-1: now revoked\n" });

      // Revoked is final: the server's 409 detail comes through.
      const again = await spe(["permits", "reinstate", "PT-CLI-1"], { url, token: admin });
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(/^error: /);
      expect((await node.call("GET", "/v1/permits/PT-CLI-1", { token: admin })).body.status).toBe("revoked");
    });

    it("requires --reason to suspend, without calling the server", async () => {
      const r = await spe(["permits", "suspend", "PT-CLI-1"], { url, token: admin });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("--reason");
    });

    it("prints the detail of a 404 and exits 1", async () => {
      const r = await spe(["permits", "show", "PT-DOES-NOT-EXIST"], { url, token: admin });
      expect(r).toMatchObject({ code: 1, stdout: "" });
      expect(r.stderr).toBe("error: permit PT-DOES-NOT-EXIST was not found\n");
    });
  });

  describe("workspaces", () => {
    it("launches, lists, shows, extends and terminates a workspace", async () => {
      await givenPermit("PT-CLI-WS");

      const launched = await spe(["--json", "workspaces", "launch", "PT-CLI-WS", "--hours", "2"], {
        url,
        token: alice,
      });
      expect(launched.code).toBe(0);
      const ws = JSON.parse(launched.stdout) as { id: string; status: string; expiresAt: string };
      expect(ws).toMatchObject({ status: "provisioning", expiresAt: "2026-06-01T12:00:00.000Z" });
      await node.dispatcher.idle();

      const listed = await spe(["workspaces", "list", "--permit", "PT-CLI-WS"], { url, token: alice });
      expect(listed.code).toBe(0);
      expect(listed.stdout).toMatch(new RegExp(`^${ws.id}\\s+ready\\s+PT-CLI-WS\\s+alice\\s`, "m"));

      const shown = await spe(["workspaces", "show", ws.id], { url, token: alice });
      expect(shown.stdout).toMatch(/^status:\s+ready$/m);
      expect(shown.stdout).toMatch(/^expires:\s+2026-06-01 12:00:00Z$/m);

      const extended = await spe(["workspaces", "extend", ws.id, "--hours", "1.5"], { url, token: alice });
      expect(extended.code).toBe(0);
      expect(extended.stdout).toContain("expires 2026-06-01 13:30:00Z");

      const terminated = await spe(["workspaces", "terminate", ws.id], { url, token: alice });
      expect(terminated.code).toBe(0);
      expect(terminated.stdout).toContain(`terminated workspace ${ws.id}: terminated`);

      const live = await spe(["--json", "workspaces", "list", "--permit", "PT-CLI-WS", "--status", "ready"], {
        url,
        token: alice,
      });
      expect(JSON.parse(live.stdout).items).toEqual([]);
    });

    it("launches once for one idempotency key", async () => {
      await givenPermit("PT-CLI-IDEM");
      const launch = () =>
        spe(["--json", "workspaces", "launch", "PT-CLI-IDEM", "--idempotency-key", "k-1"], { url, token: alice });
      const first = JSON.parse((await launch()).stdout);
      const second = JSON.parse((await launch()).stdout);
      expect(second.id).toBe(first.id);
      const all = await node.call("GET", "/v1/workspaces?permitId=PT-CLI-IDEM", { token: alice });
      expect(all.body.items).toHaveLength(1);
      await node.dispatcher.idle();
    });

    it("shows the server's detail when an extension goes past the permit limit", async () => {
      await givenPermit("PT-CLI-LIMIT");
      const ws = JSON.parse(
        (await spe(["--json", "workspaces", "launch", "PT-CLI-LIMIT"], { url, token: alice })).stdout,
      );
      await node.dispatcher.idle();
      const r = await spe(["workspaces", "extend", ws.id, "--hours", "10"], { url, token: alice });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("at the latest");
    });

    it("refuses a malformed --hours as a usage error", async () => {
      const r = await spe(["workspaces", "launch", "PT-CLI-WS", "--hours", "two"], { url, token: alice });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("--hours");
    });
  });

  describe("audit", () => {
    it("lists records, filtered by action", async () => {
      const table = await spe(["audit", "list", "--limit", "5"], { url, token: auditor });
      expect(table.code).toBe(0);
      expect(table.stdout).toMatch(/^SEQ\s+AT\s+ACTOR\s+ACTION\s+OUTCOME\s+TARGET\s+DETAILS$/m);
      expect(table.stdout).toMatch(/^1\s+2026-06-01 10:00:00Z\s+ana\s+dataset\.created\s+allowed\s+dataset\//m);

      const json = await spe(["--json", "audit", "list", "--action", "permit.created", "--all"], {
        url,
        token: auditor,
      });
      const records = JSON.parse(json.stdout).items as { action: string }[];
      expect(records.length).toBeGreaterThan(0);
      expect(records.every((r) => r.action === "permit.created")).toBe(true);
    });

    it("tells a researcher that the audit trail needs another role (403)", async () => {
      const r = await spe(["audit", "list"], { url, token: alice });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("admin, auditor");
    });

    it("verifies the chain on the server", async () => {
      const r = await spe(["audit", "verify"], { url, token: auditor });
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^OK: \d+ records, head [0-9a-f]{64}, /);

      const json = await spe(["--json", "audit", "verify"], { url, token: auditor });
      expect(JSON.parse(json.stdout)).toMatchObject({ ok: true });
    });
  });

  describe("configuration and connection", () => {
    it("asks for a token (exit 2) when a server command has none", async () => {
      const r = await spe(["permits", "list"], { url });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("SPE_TOKEN");
    });

    it("says the server is not reachable, and how to start it, when nothing listens", async () => {
      const dead = `http://127.0.0.1:${await closedPort()}`;
      const r = await spe(["permits", "list"], { url: dead, token: admin });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`not reachable at ${dead}`);
      expect(r.stderr).toContain("npm start");
    });

    it("explains an invalid token (401)", async () => {
      const r = await spe(["permits", "list"], { url, token: "not-a-jwt" });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("invalid token");
      expect(r.stderr).toContain("spe token");
    });

    it("prints help for the program and for each command group", async () => {
      const top = await spe(["--help"]);
      expect(top.code).toBe(0);
      for (const group of ["token", "datasets", "permits", "workspaces", "audit"]) expect(top.stdout).toContain(group);
      const ws = await spe(["workspaces", "--help"]);
      expect(ws.code).toBe(0);
      for (const verb of ["launch", "list", "show", "extend", "terminate"]) expect(ws.stdout).toContain(verb);
    });

    it("rejects an unknown command as a usage error", async () => {
      const r = await spe(["frobnicate"]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("unknown command");
    });
  });
});

describe("spe audit verify --data-dir (offline)", () => {
  /** A stopped node whose log holds dataset.created (seq 1, by ana) and permit.created (seq 2, naming alice). */
  async function stoppedNode(): Promise<string> {
    const dataDir = mkdtempSync(join(tmp, "offline-"));
    const node = makeNode({ dataDir, sourceRoots: [tmp] });
    const admin = await node.token("ana", "admin");
    const ds = await node.call("POST", "/v1/datasets", { token: admin, body: datasetInput("ds-offline") });
    const pt = await node.call("POST", "/v1/permits", { token: admin, body: permitInput("PT-OFFLINE", "ds-offline") });
    expect([ds.status, pt.status]).toEqual([201, 201]);
    await node.close(); // seals the head
    return dataDir;
  }

  it("reports an intact chain and its seal, without a server or a token", async () => {
    const dataDir = await stoppedNode();
    const r = await spe(["audit", "verify", "--data-dir", dataDir], { url: "http://127.0.0.1:9" });
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(r.stdout).toMatch(/^OK: 2 records, head [0-9a-f]{64}, sealed through 2 at 2026-06-01 10:00:00Z\n$/);
  });

  it("detects a record edited in the database and exits 1", async () => {
    const dataDir = await stoppedNode();
    const db = new Database(join(dataDir, "spe.db"));
    db.exec("DROP TRIGGER audit_no_update");
    db.exec("UPDATE audit SET body = replace(body, 'alice', 'mallory') WHERE seq = 2");
    db.close();

    const r = await spe(["audit", "verify", "--data-dir", dataDir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^BROKEN at seq 2: /);
    expect(r.stdout).toContain("record 2 was altered");
  });

  it("checks the seals against a public key kept elsewhere (--public-key)", async () => {
    const dataDir = await stoppedNode();
    const copy = join(tmp, "audit-key-copy.pem");
    writeFileSync(copy, readFileSync(join(dataDir, "keys", "audit-signing.pub.pem")));
    const ok = await spe(["audit", "verify", "--data-dir", dataDir, "--public-key", copy]);
    expect(ok.code).toBe(0);
    // The directory's key was replaced (as by someone who rewrote the trail): the kept copy tells.
    const other = await stoppedNode();
    const foreign = join(other, "keys", "audit-signing.pub.pem");
    const bad = await spe(["audit", "verify", "--data-dir", dataDir, "--public-key", foreign]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/BROKEN.*invalid signature/);
  });

  it("exits 2 when the directory holds no database, and creates none", async () => {
    const empty = mkdtempSync(join(tmp, "empty-"));
    const r = await spe(["audit", "verify", "--data-dir", empty]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("no SPE database");
    expect(existsSync(join(empty, "spe.db"))).toBe(false);
  });
});

describe("spe audit verify --archive (the AWS archive, offline)", () => {
  /** Archives a stopped node's chain as the archive-audit function does: two batches, seals, and a DER key. */
  async function archiveOf(): Promise<{ dir: string; der: string }> {
    const dataDir = mkdtempSync(join(tmp, "archived-"));
    const node = makeNode({ dataDir, sourceRoots: [tmp] });
    const admin = await node.token("ana", "admin");
    await node.call("POST", "/v1/datasets", { token: admin, body: datasetInput("ds-arch") });
    await node.call("POST", "/v1/permits", { token: admin, body: permitInput("PT-ARCH", "ds-arch") });
    await node.seal();
    const records = [...(node.store.scan() as Iterable<StoredAuditRecord>)];
    const seals = await node.store.seals();
    await node.close();
    const dir = mkdtempSync(join(tmp, "archive-"));
    mkdirSync(join(dir, "chain"));
    mkdirSync(join(dir, "seals"));
    writeFileSync(join(dir, chainBatchKey(1, 1)), encodeBatch(records.slice(0, 1)));
    writeFileSync(join(dir, chainBatchKey(1, records.length)), encodeBatch(records)); // a redelivery overlaps
    for (const seal of seals) writeFileSync(join(dir, sealKey(seal.n)), JSON.stringify(seal));
    const der = join(dir, "..", `${basename(dir)}.der`);
    writeFileSync(
      der,
      createPublicKey(readFileSync(join(dataDir, "keys", "audit-signing.pub.pem"))).export({
        type: "spki",
        format: "der",
      }),
    );
    return { dir, der };
  }

  it("verifies the chain and seals from the archive alone, with the key as `aws kms get-public-key` gives it", async () => {
    const { dir, der } = await archiveOf();
    const r = await spe(["audit", "verify", "--archive", dir, "--public-key", der], { url: "http://127.0.0.1:9" });
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(r.stdout).toMatch(/^OK: 2 records, head [0-9a-f]{64}, sealed through 2/);
  });

  it("fails on a missing batch, an edited record and a foreign key; exits 2 without an archive or a key", async () => {
    const { dir, der } = await archiveOf();
    const other = await archiveOf();
    const foreign = await spe(["audit", "verify", "--archive", dir, "--public-key", other.der]);
    expect(foreign.code).toBe(1);
    expect(foreign.stdout).toMatch(/BROKEN.*invalid signature/);
    const full = join(dir, chainBatchKey(1, 2));
    writeFileSync(full, readFileSync(full, "utf8").replace("PT-ARCH", "PT-EVIL"));
    const edited = await spe(["audit", "verify", "--archive", dir, "--public-key", der]);
    expect(edited.code).toBe(1);
    expect(edited.stdout).toContain("record 2 was altered");
    rmSync(full);
    const gap = await spe(["audit", "verify", "--archive", dir, "--public-key", der]);
    expect(gap.code).toBe(1);
    expect(gap.stdout).toMatch(/truncated|missing/);
    expect((await spe(["audit", "verify", "--archive", dir])).code).toBe(2);
    const empty = await spe(["audit", "verify", "--archive", mkdtempSync(join(tmp, "none-")), "--public-key", der]);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain("no audit archive");
  });
});

describe("the spe binary", () => {
  it("runs from packages/cli/bin/spe.mjs and prints help", () => {
    const r = spawnSync(process.execPath, ["packages/cli/bin/spe.mjs", "--help"], { cwd: ROOT, encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("Usage: spe");
    expect(r.stdout).toContain("workspaces");
  });

  it("exits with the command's code", () => {
    const r = spawnSync(process.execPath, ["packages/cli/bin/spe.mjs", "token", "--user", "u", "--roles", "wizard"], {
      cwd: ROOT,
      encoding: "utf8",
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('unknown role "wizard"');
  });
});

/**
 * Termination keeps a workspace's outputs: when archiving them fails (a throttled or failing object store),
 * the workspace stays `stopping` with its outputs kept and the sweeper tries again; only after
 * MAX_OUTPUTS_ARCHIVE_ATTEMPTS terminations is the loss recorded and the plaintext wiped.
 */
import { MAX_OUTPUTS_ARCHIVE_ATTEMPTS } from "@spe/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { launchReady, seedWorld, type World } from "../helpers/fixtures";
import { runJob } from "../helpers/jobs";
import { makeNode, type TestNode } from "../helpers/node";

let n: TestNode;
let w: World;
let failPuts = false;

beforeEach(async () => {
  n = makeNode();
  w = await seedWorld(n);
  const put = n.deps.objects.put.bind(n.deps.objects);
  n.deps.objects.put = async (key, body) => {
    if (failPuts && key.includes("/outputs/")) throw new Error("SlowDown: please reduce your request rate");
    return put(key, body);
  };
});
afterEach(() => {
  failPuts = false;
  n.dispose();
});

async function workspaceWithOutput(): Promise<string> {
  const ws = await launchReady(n, w.alice, w.permitId);
  const job = await runJob(n, w.alice, ws.id, [
    "sh",
    "-c",
    "echo 'stage,n' > outputs/t.csv; echo 'II,12' >> outputs/t.csv",
  ]);
  expect(job.status).toBe("succeeded");
  return ws.id;
}
/** The archived (encrypted) outputs in the object store. */
const archivedFiles = async (id: string) =>
  (await n.deps.objects.list(`permits/${w.permitId}/workspaces/${id}/outputs/`)).map((o) => o.key.split("/").at(-1));
const archiveEvents = async (id: string) =>
  (await n.call("GET", `/v1/audit?workspaceId=${id}&action=workspace.outputs_archived`, { token: w.auditor })).body
    .items as { outcome: string; details: Record<string, unknown> }[];

describe("keeping outputs through a failing archive", () => {
  it("keeps the workspace stopping with its outputs when archiving fails, and the sweeper finishes it", async () => {
    const id = await workspaceWithOutput();
    failPuts = true;
    const res = await n.call("DELETE", `/v1/workspaces/${id}`, { token: w.alice });
    expect(res.status).toBe(202);
    expect(res.body.status).toBe("stopping");
    expect(await n.runtime.exists(id)).toBe(true); // the plaintext outputs are still there to archive
    failPuts = false;
    await n.sweep();
    expect((await n.call("GET", `/v1/workspaces/${id}`, { token: w.alice })).body.status).toBe("terminated");
    expect(await n.runtime.exists(id)).toBe(false);
    expect((await archiveEvents(id)).map((e) => [e.outcome, e.details.retrying ?? null, e.details.files])).toEqual([
      ["failed", true, 0],
      ["allowed", null, 1],
    ]);
    expect(await archivedFiles(id)).toEqual(["t.csv"]);
  });

  it("gives up after the last attempt: the loss is recorded and the plaintext wiped all the same", async () => {
    const id = await workspaceWithOutput();
    failPuts = true;
    await n.call("DELETE", `/v1/workspaces/${id}`, { token: w.alice });
    for (let i = 1; i < MAX_OUTPUTS_ARCHIVE_ATTEMPTS; i++) await n.sweep();
    expect((await n.call("GET", `/v1/workspaces/${id}`, { token: w.alice })).body.status).toBe("terminated");
    expect(await n.runtime.exists(id)).toBe(false);
    const events = await archiveEvents(id);
    expect(events).toHaveLength(MAX_OUTPUTS_ARCHIVE_ATTEMPTS);
    expect(events.every((e) => e.outcome === "failed")).toBe(true);
    expect(events.at(-1)?.details).toMatchObject({ attempt: MAX_OUTPUTS_ARCHIVE_ATTEMPTS, retrying: false });
    expect(await archivedFiles(id)).toEqual([]);
  });
});

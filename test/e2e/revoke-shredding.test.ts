/** Revoking a permit whose crypto-shredding cannot finish at once: the revoke stands, the failure is audited, the sweeper finishes. */

import { SHREDDED_COMMAND } from "@spe/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { launchReady, seedWorld, type World } from "../helpers/fixtures";
import { runJob } from "../helpers/jobs";
import { makeNode, type TestNode } from "../helpers/node";

let n: TestNode;
let w: World;
beforeEach(async () => {
  n = makeNode();
  w = await seedWorld(n);
});
afterEach(() => n.dispose());

describe("revoke when shredding fails", () => {
  it("commits the revoke, audits the failed shredding (no message), and the sweeper destroys the keys", async () => {
    const destroy = n.deps.keys.destroyPermitKey.bind(n.deps.keys);
    let fail = true;
    n.deps.keys.destroyPermitKey = async (id) => {
      if (fail) throw new Error("ThrottlingException: rate exceeded for key arn:aws:kms:eu-west-1:1:key/x");
      return destroy(id);
    };
    const res = await n.call("POST", `/v1/permits/${w.permitId}/revoke`, {
      token: w.admin,
      body: { reason: "breach of the permit's conditions" },
    });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe("revoked");
    expect(res.body.keyDestroyedAt).toBeUndefined();
    const events = async () =>
      (await n.call("GET", `/v1/audit?permitId=${w.permitId}&action=permit.key_destroyed`, { token: w.auditor })).body
        .items as { outcome: string; details: Record<string, unknown> }[];
    expect((await events()).map((e) => [e.outcome, e.details.error])).toEqual([["failed", "Error"]]);
    expect(JSON.stringify(await events())).not.toContain("arn:aws");
    fail = false;
    await n.sweep();
    expect((await events()).map((e) => e.outcome)).toEqual(["failed", "allowed"]);
    await expect(n.deps.keys.permitKeys(w.permitId)).rejects.toMatchObject({ code: "permit.key_destroyed" });
  });

  it("replaces every job command of the permit once its data is destroyed (a command may name data values)", async () => {
    const ws = await launchReady(n, w.alice, w.permitId);
    const job = await runJob(n, w.alice, ws.id, ["sh", "-c", "echo subject P-000123", "--subject=P-000123"]);
    expect(job.status).toBe("succeeded");
    const res = await n.call("POST", `/v1/permits/${w.permitId}/revoke`, {
      token: w.admin,
      body: { reason: "ethics approval withdrawn" },
    });
    expect(typeof res.body.keyDestroyedAt).toBe("string");
    expect((await n.deps.store.get("job", job.id))?.item.command).toEqual([SHREDDED_COMMAND]);
    const audit = await n.call("GET", `/v1/audit?permitId=${w.permitId}&action=permit.key_destroyed`, {
      token: w.auditor,
    });
    expect(audit.body.items.at(-1).details).toMatchObject({ jobCommandsScrubbed: 1 });
    expect(JSON.stringify(audit.body)).not.toContain("P-000123");
  });
});

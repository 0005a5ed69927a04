/**
 * The console under hostile or failing input, in-process against a real node: a very wide CSV renders a
 * bounded page quickly, a malformed form is a 4xx, `?done=` shows only known notices, and a release copy
 * that fails after an approval leaves the reviewer told it is approved (the download finishes the copy).
 */
import { type App, createApp } from "@spe/api";
import type { ObjectStore } from "@spe/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runJob } from "../helpers/jobs";
import { PERMIT, requestEgress, startWorld, type World, writeOutputs } from "./helpers/fixture";

let w: World;
let wide: string;
let plain: string;
const lines: string[] = [];
const COLUMNS = 20_000;
const FORM = "application/x-www-form-urlencoded";

beforeAll(async () => {
  w = await startWorld();
  await writeOutputs(w, w.ws, { "plain.csv": "group,n\na,25\nb,40\n" });
  // 40 KB: a header of two columns, then one row of 20,000 (too long to pass in a job's command line).
  const job = await runJob(w.n, w.t.alice, w.ws, [
    "python3",
    "-c",
    `open('outputs/wide.csv', 'w').write('a,b\\n' + ','.join(['1'] * ${COLUMNS}) + '\\n')`,
  ]);
  if (job.status !== "succeeded") throw new Error(`job ${job.status}`);
  wide = await requestEgress(w, w.ws, ["wide.csv"]);
  plain = await requestEgress(w, w.ws, ["plain.csv"]);
}, 120_000);
afterAll(() => w?.close());

const pair = (res: Response, name: string) =>
  (res.headers.getSetCookie().find((c) => c.startsWith(`${name}=`)) ?? "").split(";")[0] as string;

/** A console session on `app` for `token` (pasting it, as a person would). */
async function session(app: App, token: string) {
  const form = await app.request(`${w.url}/console/sign-in`);
  const pre = /name="_csrf" value="([^"]+)"/.exec(await form.text())?.[1] as string;
  const res = await app.request(`${w.url}/console/sign-in`, {
    method: "POST",
    headers: { origin: w.url, cookie: pair(form, "spe_console_pre"), "content-type": FORM },
    body: new URLSearchParams({ _csrf: pre, token }),
  });
  const cookie = pair(res, "spe_console");
  const page = await (await app.request(`${w.url}/console`, { headers: { cookie } })).text();
  return { cookie, csrf: /name="_csrf" value="([^"]+)"/.exec(page)?.[1] as string };
}

describe("a very wide CSV", () => {
  it("renders a bounded page quickly, with the first 200 columns and how many more there are", async () => {
    const { cookie } = await session(w.n.app, w.t.rui);
    const started = performance.now();
    const res = await w.n.app.request(`${w.url}/console/egress/${wide}/files/0`, { headers: { cookie } });
    const html = await res.text();
    expect(res.status).toBe(200);
    expect(performance.now() - started).toBeLessThan(3000);
    expect(html.length).toBeLessThan(1_000_000); // unbounded, it was ~49 MB
    expect(html).toContain(`${COLUMNS - 200} more columns are not`);
    expect(html).toContain('id="c-1-199"');
    expect(html).not.toContain('id="c-1-200"');
  });
});

describe("malformed forms", () => {
  it("answers a form post the server cannot parse with 400, not a server error", async () => {
    const app = createApp({ ...w.n.deps, log: (l) => lines.push(JSON.stringify(l)) });
    const { cookie, csrf } = await session(app, w.t.rui);
    for (const [type, body] of [
      ["multipart/form-data", "decision=approve"],
      ["multipart/form-data; boundary=XyZ", '--XyZ\r\nContent-Disposition: form-data; name="decision"\r\n\r\nappr'],
    ] as const) {
      const res = await app.request(`${w.url}/console/egress/${plain}/decision`, {
        method: "POST",
        // The token in the header passes the CSRF check, so the screen's own form reading is what is tested.
        headers: { origin: w.url, cookie, "content-type": type, "x-csrf-token": csrf },
        body,
      });
      expect(res.status, type).toBe(400);
    }
    expect(lines.join("\n")).not.toContain("unexpected");
  });
});

describe("the admin permit page's ?done= notice", () => {
  it("shows only the notices the console itself asks for", async () => {
    const { cookie } = await session(w.n.app, w.t.admin);
    const page = async (done: string) => {
      const url = `${w.url}/console/admin/permits/${PERMIT}?done=${encodeURIComponent(done)}`;
      return (await w.n.app.request(url, { headers: { cookie } })).text();
    };
    expect(await page("suspended")).toContain("Permit suspended.");
    const forged = await page("hacked: call +1 555 0100 to restore access");
    expect(forged).not.toContain("555 0100");
    expect(forged).not.toContain('class="notice');
  });
});

describe("a release copy that fails after approval", () => {
  it("still answers that the request is approved, records the failure, and the download finishes the copy", async () => {
    let failures = 0;
    const objects: ObjectStore = Object.create(w.n.deps.objects);
    objects.put = async (key, body) => {
      if (key.includes("/release/") && failures === 0) {
        failures++;
        for await (const _ of body) break; // the upload started, then the store failed
        throw Object.assign(new Error("Please reduce your request rate."), { name: "SlowDown" });
      }
      return w.n.deps.objects.put(key, body);
    };
    const app = createApp({ ...w.n.deps, objects });
    const { cookie, csrf } = await session(app, w.t.vera);
    const res = await app.request(`${w.url}/console/egress/${plain}/decision`, {
      method: "POST",
      headers: { origin: w.url, cookie, "content-type": FORM },
      body: new URLSearchParams({ _csrf: csrf, decision: "approve", comment: "fine", confirm: "1" }),
    });
    expect(failures).toBe(1);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toContain("done=approved");
    const audit = await w.n.call("GET", "/v1/audit?action=egress.released&limit=50", { token: w.t.auditor });
    expect(audit.body.items.map((r: { outcome: string }) => r.outcome)).toContain("failed");
    const links = await w.n.call("POST", `/v1/egress-requests/${plain}/downloads`, { token: w.t.alice, body: {} });
    expect(links.status).toBe(201);
    const file = await w.n.app.request(links.body.files[0].url);
    expect(file.status).toBe(200);
    expect(await file.text()).toBe("group,n\na,25\nb,40\n");
  });
});

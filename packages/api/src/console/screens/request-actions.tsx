/** @jsxImportSource hono/jsx */
/**
 * The requester's actions on a request (withdraw, with a confirmation; download links once approved) and
 * the release record for admins and auditors. Each calls the same use case as the API.
 */
import { Egress } from "@spe/core";
import type { Hono } from "hono";
import type { ApiDeps } from "../../env";
import { CsrfField, fmtTime, visible } from "../components";
import { csrfToken } from "../csrf";
import { Layout } from "../layout";
import type { ResolvedConsoleOptions } from "../options";
import { frameOf, send } from "../render";
import type { ConsoleEnv } from "../session";
import { formOf, ID } from "./shared";

export function requestActionRoutes(app: Hono<ConsoleEnv>, deps: ApiDeps, o: ResolvedConsoleOptions): void {
  const base = `/egress/:id{${ID}}`;

  app.post(`${base}/withdraw`, async (c) => {
    const id = c.req.param("id");
    const form = await formOf(c);
    if (form.confirm !== "1") {
      const r = await Egress.get(deps, c.get("actor"), id);
      return send(
        c,
        <Layout title="Withdraw?" here="queue" {...frameOf(c, o)}>
          <h1>Withdraw {r.id}?</h1>
          <p>Its files will not be reviewed; you can make a new request. This cannot be undone.</p>
          <form method="post" action={`/console/egress/${id}/withdraw`} class="actions">
            <CsrfField token={csrfToken(o.sessionKey, c.get("session").sid)} />
            <input type="hidden" name="confirm" value="1" />
            <button type="submit" class="danger">
              Yes, withdraw
            </button>
            <a class="button" href={`/console/egress/${id}`}>
              No, go back
            </a>
          </form>
        </Layout>,
      );
    }
    await Egress.withdraw(deps, c.get("actor"), id);
    return c.redirect(`/console/egress/${id}?done=withdrawn`, 303);
  });

  app.post(`${base}/downloads`, async (c) => {
    const id = c.req.param("id");
    const { files } = await Egress.downloads(deps, c.get("actor"), id);
    const origin = new URL(c.req.url).origin;
    return send(
      c,
      <Layout title="Download" here="queue" {...frameOf(c, o)}>
        <p>
          <a href={`/console/egress/${id}`}>← Request {id}</a>
        </p>
        <h1>Download the released files</h1>
        <p>
          Each link works {deps.policy.downloadMaxUses} times, until {fmtTime(files[0]?.expiresAt)} UTC. Links are
          credentials: do not share them.
        </p>
        <ul class="downloads">
          {files.map((f) => (
            <li>
              <a href={origin + f.url} download>
                {visible(f.path)}
              </a>
            </li>
          ))}
        </ul>
      </Layout>,
    );
  });

  app.get(`${base}/release-record`, async (c) => {
    const crate = await Egress.releaseRecord(deps, c.get("actor"), c.req.param("id"));
    c.header("content-disposition", 'attachment; filename="ro-crate-metadata.json"');
    return c.json(crate, 200);
  });
}

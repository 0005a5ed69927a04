/** @jsxImportSource hono/jsx */
/**
 * Screen 5, a permit's release history: every approved request of the permit, newest first, with its
 * files, sizes and SHA-256, so a reviewer can check a new output against what already left (differencing:
 * two tables that differ by one person). Files named like one in the request under review are marked.
 */
import { Egress, type EgressView, listAll, Permit } from "@spe/core";
import type { Hono } from "hono";
import type { ApiDeps } from "../../env";
import { fmtBytes, fmtTime, label, Verdict, visible } from "../components";
import { Layout } from "../layout";
import type { ResolvedConsoleOptions } from "../options";
import { frameOf, send } from "../render";
import type { ConsoleEnv } from "../session";
import { ID } from "./shared";

const baseName = (p: string) => p.split("/").at(-1) ?? p;

export function permitHistoryRoute(app: Hono<ConsoleEnv>, deps: ApiDeps, o: ResolvedConsoleOptions): void {
  app.get(`/permits/:id{${ID}}/history`, async (c) => {
    const actor = c.get("actor");
    const permit = await Permit.get(deps, actor, c.req.param("id"));
    const currentId = c.req.query("current");
    const current =
      currentId && /^[A-Za-z0-9._-]{1,128}$/.test(currentId)
        ? await Egress.get(deps, actor, currentId).catch(() => null)
        : null;
    const mine = current?.permitId === permit.id ? current.files : [];
    const names = new Set(mine.map((f) => baseName(f.path)));
    const hashes = new Set(mine.map((f) => f.sha256));
    const released: EgressView[] = (
      await listAll((page) => Egress.list(deps, actor, { ...page, permitId: permit.id, status: "approved" }))
    ).filter((r) => r.id !== current?.id);
    released.sort((a, b) => (b.decidedAt ?? "").localeCompare(a.decidedAt ?? ""));
    return send(
      c,
      <Layout title={`Releases of ${permit.id}`} here="queue" {...frameOf(c, o)}>
        {current ? (
          <p>
            <a href={`/console/egress/${current.id}`}>← Request {current.id}</a>
          </p>
        ) : null}
        <h1>Earlier releases of permit {permit.id}</h1>
        <p>
          {permit.title} · {label(permit.purpose)} · {permit.dataUser}
        </p>
        {names.size > 0 ? (
          <p class="help">
            Files with the same name as one in request {current?.id} are highlighted: compare them for differencing.
          </p>
        ) : null}
        {current && current.permitId === permit.id ? (
          <section class="card current" aria-labelledby="current-h">
            <h2 id="current-h">This request: {current.id}</h2>
            <table>
              <tbody>
                {current.files.map((f) => (
                  <tr>
                    <td class="mono">{visible(f.path)}</td>
                    <td class="num">{fmtBytes(f.bytes)}</td>
                    <td class="sha">{f.sha256}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
        ) : null}
        {released.length === 0 ? <p class="muted">Nothing has been released under this permit yet.</p> : null}
        {released.map((r) => (
          <section class="card release" data-release={r.id}>
            <h2>
              <a href={`/console/egress/${r.id}`}>{r.id}</a> · released {fmtTime(r.decidedAt)} · by{" "}
              {r.reviews.map((x) => x.reviewer).join(", ")}
            </h2>
            <table>
              <thead>
                <tr>
                  <th>File</th>
                  <th class="num">Size</th>
                  <th>SHA-256</th>
                  <th>Verdict</th>
                </tr>
              </thead>
              <tbody>
                {r.files.map((f) => (
                  <tr class={names.has(baseName(f.path)) ? "diff-same-name" : undefined}>
                    <td class="mono">{visible(f.path)}</td>
                    <td class="num">{fmtBytes(f.bytes)}</td>
                    <td class="sha">{f.sha256}</td>
                    <td>
                      <Verdict v={f.verdict} />
                      {names.has(baseName(f.path)) ? (
                        <span class="muted">
                          {hashes.has(f.sha256) ? " identical to this request's" : " same name, other content"}
                        </span>
                      ) : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
        ))}
      </Layout>,
    );
  });
}

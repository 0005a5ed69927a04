/** @jsxImportSource hono/jsx */
/**
 * Admin, permits: the list, creation from a form or from JSON (validated by core's PermitInput, the API's
 * own schema), and suspend / reinstate / revoke with a reason; revoking asks for confirmation, since it
 * ends the permit's workspaces and destroys its data for good.
 */
import {
  Dataset,
  type FieldError,
  OptionalReasonInput,
  Permit,
  PermitInput,
  PURPOSES,
  ReasonInput,
  requireRole,
  ValidationError,
} from "@spe/core";
import type { Context, Hono } from "hono";
import type { ApiDeps } from "../../env";
import { fieldErrors } from "../../problem";
import { CsrfField, FieldErrors, fmtTime, label, Notice } from "../components";
import { csrfToken } from "../csrf";
import { Layout } from "../layout";
import type { ResolvedConsoleOptions } from "../options";
import { frameOf, send } from "../render";
import { formOf, ID } from "../screens/shared";
import type { ConsoleEnv } from "../session";

type Ctx = Context<ConsoleEnv>;
const list = (s: string | undefined) => (s ?? "").split(/[\s,]+/).filter(Boolean);
/** `datetime-local` values are taken as UTC. */
const utc = (s: string | undefined) => (s && /^\d{4}-\d\d-\d\dT\d\d:\d\d$/.test(s) ? `${s}:00Z` : s || undefined);
/** The notices `?done=` may ask for (anything else shows none: the query string is anyone's to write). */
const DONE: Record<string, string> = {
  created: "Permit created.",
  suspended: "Permit suspended.",
  reinstated: "Permit reinstated.",
  revoked: "Permit revoked.",
};
const num = (s: string | undefined) => (s && s.trim() !== "" ? Number(s) : undefined);

/** The form's fields as a PermitInput candidate (validation is PermitInput's). */
function fromForm(f: Record<string, string>, datasets: string[]): unknown {
  return {
    id: f.id,
    title: f.title,
    purpose: f.purpose,
    dataUser: f.dataUser,
    principalInvestigator: f.principalInvestigator,
    researchers: list(f.researchers),
    datasets,
    validFrom: utc(f.validFrom),
    validUntil: utc(f.validUntil),
    egress: {
      ...(num(f.reviewersRequired) !== undefined ? { reviewersRequired: num(f.reviewersRequired) } : {}),
      ...(num(f.minCellCount) !== undefined ? { minCellCount: num(f.minCellCount) } : {}),
    },
  };
}

interface FormState {
  errors?: FieldError[];
  values?: Record<string, string>;
  /** Datasets ticked in the form. */
  ticked?: string[];
  error?: string;
}

async function listPage(c: Ctx, deps: ApiDeps, o: ResolvedConsoleOptions, s: FormState = {}, status: 200 | 400 = 200) {
  const actor = c.get("actor");
  requireRole(actor, "manage permits", "admin");
  const permits = await Permit.list(deps, actor, { limit: 500 });
  const datasets = await Dataset.list(deps, actor, { limit: 500 });
  const v = s.values ?? {};
  const csrf = csrfToken(o.sessionKey, c.get("session").sid);
  return send(
    c,
    <Layout title="Permits" here="permits" {...frameOf(c, o)}>
      <h1>Permits</h1>
      <table>
        <thead>
          <tr>
            <th>Permit</th>
            <th>Title</th>
            <th>Purpose</th>
            <th>Data user</th>
            <th>Valid until</th>
            <th>Status</th>
          </tr>
        </thead>
        <tbody>
          {permits.items.map((p) => (
            <tr data-permit={p.id}>
              <td>
                <a href={`/console/admin/permits/${p.id}`}>{p.id}</a>
              </td>
              <td>{p.title}</td>
              <td>{label(p.purpose)}</td>
              <td>{p.dataUser}</td>
              <td>{fmtTime(p.validUntil)}</td>
              <td>
                <span class={`badge status-${p.status}`}>{p.status}</span>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2 id="create">Create a permit</h2>
      {s.error ? <Notice kind="error">{s.error}</Notice> : null}
      <FieldErrors errors={s.errors} />
      <div class="cards">
        <form class="stack card" method="post" action="/console/admin/permits">
          <CsrfField token={csrf} />
          <label>
            Permit id <input type="text" name="id" required value={v.id} />
          </label>
          <label>
            Title <input type="text" name="title" required value={v.title} />
          </label>
          <label>
            Purpose (EHDS Art. 53)
            <select name="purpose">
              {PURPOSES.map((p) => (
                <option value={p} selected={v.purpose === p}>
                  {label(p)}
                </option>
              ))}
            </select>
          </label>
          <label>
            Data user <input type="text" name="dataUser" required value={v.dataUser} />
          </label>
          <label>
            Principal investigator{" "}
            <input type="text" name="principalInvestigator" required value={v.principalInvestigator} />
          </label>
          <label>
            Researchers (separated by commas) <input type="text" name="researchers" required value={v.researchers} />
          </label>
          <fieldset>
            <legend>Datasets</legend>
            {datasets.items.map((d) => (
              <label class="inline">
                <input type="checkbox" name="datasets" value={d.id} checked={s.ticked?.includes(d.id)} /> {d.id}{" "}
                <span class="muted">{d.title}</span>
              </label>
            ))}
          </fieldset>
          <label>
            Valid from (UTC) <input type="datetime-local" name="validFrom" required value={v.validFrom} />
          </label>
          <label>
            Valid until (UTC) <input type="datetime-local" name="validUntil" required value={v.validUntil} />
          </label>
          <label>
            Reviewers required per release{" "}
            <input type="number" name="reviewersRequired" min="1" max="5" value={v.reviewersRequired ?? "1"} />
          </label>
          <label>
            Smallest count released{" "}
            <input type="number" name="minCellCount" min="1" max="1000" value={v.minCellCount ?? "10"} />
          </label>
          <div>
            <button class="primary" type="submit">
              Create permit
            </button>
          </div>
        </form>
        <form class="stack card" method="post" action="/console/admin/permits">
          <CsrfField token={csrf} />
          <label>
            Or paste the permit as JSON (the body of POST /v1/permits)
            <textarea name="json" class="mono" rows={16}>
              {v.json ?? ""}
            </textarea>
          </label>
          <div>
            <button class="primary" type="submit">
              Create from JSON
            </button>
          </div>
        </form>
      </div>
    </Layout>,
    status,
  );
}

export function adminPermitRoutes(app: Hono<ConsoleEnv>, deps: ApiDeps, o: ResolvedConsoleOptions): void {
  app.get("/admin/permits", (c) => listPage(c, deps, o));

  app.post("/admin/permits", async (c) => {
    const actor = c.get("actor");
    requireRole(actor, "create a permit", "admin");
    const form = await formOf(c);
    const all = await c.req.parseBody({ all: true });
    const datasets = ([] as unknown[]).concat(all.datasets ?? []).filter((x): x is string => typeof x === "string");
    let candidate: unknown;
    if (form.json !== undefined) {
      try {
        candidate = JSON.parse(form.json);
      } catch {
        return listPage(c, deps, o, { values: form, error: "The JSON could not be read: check its syntax." }, 400);
      }
    } else candidate = fromForm(form, datasets);
    const input = PermitInput.safeParse(candidate);
    if (!input.success) {
      return listPage(c, deps, o, { values: form, ticked: datasets, errors: fieldErrors(input.error.issues) }, 400);
    }
    const { permit } = await Permit.create(deps, actor, input.data);
    return c.redirect(`/console/admin/permits/${permit.id}?done=created`, 303);
  });

  app.get(`/admin/permits/:id{${ID}}`, async (c) => {
    const actor = c.get("actor");
    requireRole(actor, "manage permits", "admin");
    const p = await Permit.get(deps, actor, c.req.param("id"));
    const csrf = csrfToken(o.sessionKey, c.get("session").sid);
    const done = DONE[c.req.query("done") ?? ""];
    const action = (verb: "suspend" | "reinstate" | "revoke", text: string, reasonRequired: boolean) => (
      <form class="stack card" method="post" action={`/console/admin/permits/${p.id}/${verb}`}>
        <CsrfField token={csrf} />
        <label>
          Reason{reasonRequired ? "" : " (optional)"}
          <input type="text" name="reason" required={reasonRequired} maxlength={1000} />
        </label>
        <div>
          <button type="submit" class={verb === "revoke" ? "danger" : undefined}>
            {text}
          </button>
        </div>
      </form>
    );
    return send(
      c,
      <Layout title={`Permit ${p.id}`} here="permits" {...frameOf(c, o)}>
        <p>
          <a href="/console/admin/permits">← Permits</a>
        </p>
        <h1>
          Permit {p.id} <span class={`badge status-${p.status}`}>{p.status}</span>
        </h1>
        {done ? <Notice kind="ok">{done}</Notice> : null}
        {p.stateReason ? <p>Reason given: {p.stateReason}</p> : null}
        <pre class="json">{JSON.stringify(p, null, 2)}</pre>
        <p>
          <a href={`/console/permits/${p.id}/history`}>Releases under this permit</a>
        </p>
        <div class="cards">
          {p.status === "active" || p.status === "pending" ? action("suspend", "Suspend", true) : null}
          {p.status === "suspended" ? action("reinstate", "Reinstate", false) : null}
          {p.status !== "revoked" ? action("revoke", "Revoke…", true) : null}
        </div>
      </Layout>,
    );
  });

  app.post(`/admin/permits/:id{${ID}}/:verb{suspend|reinstate|revoke}`, async (c) => {
    const actor = c.get("actor");
    const id = c.req.param("id");
    const verb = c.req.param("verb") as "suspend" | "reinstate" | "revoke";
    const form = await formOf(c);
    const reason = (form.reason ?? "").trim();
    if (verb === "revoke" && form.confirm !== "1") {
      requireRole(actor, "revoke a permit", "admin");
      const p = await Permit.get(deps, actor, id);
      return send(
        c,
        <Layout title="Revoke?" here="permits" {...frameOf(c, o)}>
          <h1>Revoke permit {p.id}?</h1>
          <p>
            Its live workspaces stop now, its pending egress requests are cancelled, and its keys are destroyed: every
            staged file, output and snapshot of the permit becomes unreadable. This cannot be undone.
          </p>
          <p>Reason: {reason || "(none given)"}</p>
          <form method="post" action={`/console/admin/permits/${p.id}/revoke`} class="actions">
            <CsrfField token={csrfToken(o.sessionKey, c.get("session").sid)} />
            <input type="hidden" name="reason" value={reason} />
            <input type="hidden" name="confirm" value="1" />
            <button type="submit" class="danger" data-action="confirm">
              Yes, revoke {p.id}
            </button>
            <a class="button" href={`/console/admin/permits/${p.id}`}>
              No, go back
            </a>
          </form>
        </Layout>,
      );
    }
    const parsed = (verb === "reinstate" ? OptionalReasonInput : ReasonInput).safeParse(reason ? { reason } : {});
    if (!parsed.success) {
      throw new ValidationError(
        "request.invalid",
        `to ${verb} a permit, give a reason`,
        fieldErrors(parsed.error.issues),
      );
    }
    if (verb === "suspend") await Permit.suspend(deps, actor, id, reason);
    else if (verb === "revoke") await Permit.revoke(deps, actor, id, reason);
    else await Permit.reinstate(deps, actor, id, reason || undefined);
    const past = { suspend: "suspended", reinstate: "reinstated", revoke: "revoked" }[verb];
    return c.redirect(`/console/admin/permits/${id}?done=${past}`, 303);
  });
}

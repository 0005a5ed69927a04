/** @jsxImportSource hono/jsx */
/** Admin, datasets: the registered datasets and a form to register one (validated by core's DatasetInput). */
import { DATASET_FORMATS, Dataset, DatasetInput, type FieldError, requireRole } from "@spe/core";
import type { Context, Hono } from "hono";
import type { ApiDeps } from "../../env";
import { fieldErrors } from "../../problem";
import { CsrfField, FieldErrors, fmtTime, Notice } from "../components";
import { csrfToken } from "../csrf";
import { Layout } from "../layout";
import type { ResolvedConsoleOptions } from "../options";
import { frameOf, send } from "../render";
import { formOf } from "../screens/shared";
import type { ConsoleEnv } from "../session";

async function page(
  c: Context<ConsoleEnv>,
  deps: ApiDeps,
  o: ResolvedConsoleOptions,
  s: { errors?: FieldError[]; values?: Record<string, string>; done?: string } = {},
  status: 200 | 400 = 200,
) {
  const actor = c.get("actor");
  requireRole(actor, "manage datasets", "admin");
  const datasets = await Dataset.list(deps, actor, { limit: 500 });
  const v = s.values ?? {};
  return send(
    c,
    <Layout title="Datasets" here="datasets" {...frameOf(c, o)}>
      <h1>Datasets</h1>
      {s.done ? <Notice kind="ok">{s.done}</Notice> : null}
      <table>
        <thead>
          <tr>
            <th>Dataset</th>
            <th>Title</th>
            <th>Holder</th>
            <th>Format</th>
            <th>Identifier columns</th>
            <th>Source</th>
            <th>Registered</th>
          </tr>
        </thead>
        <tbody>
          {datasets.items.map((d) => (
            <tr data-dataset={d.id}>
              <td>{d.id}</td>
              <td>{d.title}</td>
              <td>{d.holder}</td>
              <td>{d.format}</td>
              <td>{d.identifierColumns.join(", ") || "—"}</td>
              <td class="mono">{d.source}</td>
              <td>
                {fmtTime(d.createdAt)} by {d.createdBy}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Register a dataset</h2>
      <FieldErrors errors={s.errors} />
      <form class="stack card" method="post" action="/console/admin/datasets">
        <CsrfField token={csrfToken(o.sessionKey, c.get("session").sid)} />
        <label>
          Dataset id <input type="text" name="id" required value={v.id} />
        </label>
        <label>
          Title <input type="text" name="title" required value={v.title} />
        </label>
        <label>
          Holder <input type="text" name="holder" required value={v.holder} />
        </label>
        <label>
          Source (file:///… or s3://bucket/prefix) <input type="text" name="source" required value={v.source} />
        </label>
        <label>
          Format
          <select name="format">
            {DATASET_FORMATS.map((f) => (
              <option value={f} selected={v.format === f}>
                {f}
              </option>
            ))}
          </select>
        </label>
        <label>
          Identifier columns (separated by commas){" "}
          <input type="text" name="identifierColumns" value={v.identifierColumns} />
        </label>
        <div>
          <button class="primary" type="submit">
            Register
          </button>
        </div>
      </form>
    </Layout>,
    status,
  );
}

export function adminDatasetRoutes(app: Hono<ConsoleEnv>, deps: ApiDeps, o: ResolvedConsoleOptions): void {
  app.get("/admin/datasets", (c) => page(c, deps, o, c.req.query("done") ? { done: "Dataset registered." } : {}));

  app.post("/admin/datasets", async (c) => {
    const form = await formOf(c);
    const input = DatasetInput.safeParse({
      id: form.id,
      title: form.title,
      holder: form.holder,
      source: form.source,
      format: form.format,
      identifierColumns: (form.identifierColumns ?? "")
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean),
    });
    if (!input.success) return page(c, deps, o, { values: form, errors: fieldErrors(input.error.issues) }, 400);
    await Dataset.create(deps, c.get("actor"), input.data);
    return c.redirect("/console/admin/datasets?done=1", 303);
  });
}

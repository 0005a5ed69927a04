/** @jsxImportSource hono/jsx */
/**
 * Screen 3, one file under review: its content (table, text or image) with the findings in place, the
 * reviewer's mark for it (a draft, saved on the server: `a` approve, `c` request changes, `r` reject),
 * `j`/`k` to the next and previous file and `n` to the next file not yet marked. Marks decide nothing:
 * the decision is its own step, with its comment rules and a confirmation. Images are served as bytes
 * with their own type only when they are what they claim to be (PNG or JPEG signature), never as HTML.
 */
import {
  type Actor,
  type Decision,
  DraftInput,
  Egress,
  type EgressFile,
  type EgressView,
  hasRole,
  kindByName,
  NotFoundError,
  type ReviewDraft,
  SIGNATURES,
  ValidationError,
} from "@spe/core";
import type { Hono } from "hono";
import type { ApiDeps } from "../../env";
import { CsrfField, fmtBytes, label, Notice, Verdict, visible } from "../components";
import { csrfToken } from "../csrf";
import { Layout } from "../layout";
import type { ResolvedConsoleOptions } from "../options";
import { frameOf, send } from "../render";
import type { ConsoleEnv } from "../session";
import { findingsOnly, tableView, textView } from "./file-content";
import { formOf, ID, INDEX, nextUnmarked } from "./shared";

/** What the bytes are, by the checks' own signatures: only PNG and JPEG are ever served as images. */
const startsWith = (b: Uint8Array, sig: readonly number[] | undefined) => !!sig && sig.every((x, i) => b[i] === x);

const fileAt = (r: EgressView, index: number): EgressFile => {
  const f = r.files[index];
  if (!f) throw new NotFoundError(`egress ${r.id} file`, String(index + 1));
  return f;
};

function Marks(props: { base: string; csrf: string; mark: Decision | null; page: number }) {
  const buttons: [Decision, string, string, string][] = [
    ["approve", "a", "Approve file", "approve"],
    ["request_changes", "c", "Request changes", "changes"],
    ["reject", "r", "Reject file", "danger"],
  ];
  return (
    <form class="marks" method="post" action={`${props.base}/mark`} id="marks">
      <CsrfField token={props.csrf} />
      <input type="hidden" name="page" value={String(props.page)} />
      <span>
        My decision so far:{" "}
        <strong class={props.mark ? `mark-${props.mark}` : "muted"} data-mark={props.mark ?? ""}>
          {props.mark ? label(props.mark) : "none yet"}
        </strong>
      </span>
      {buttons.map(([mark, key, text, cls]) => (
        <button
          type="submit"
          name="mark"
          value={mark}
          data-key={key}
          class={cls}
          aria-pressed={props.mark === mark ? "true" : "false"}
        >
          {text} <kbd>{key}</kbd>
        </button>
      ))}
      {props.mark ? (
        <button type="submit" name="mark" value="clear" class="link">
          clear
        </button>
      ) : null}
    </form>
  );
}

async function content(deps: ApiDeps, actor: Actor, r: EgressView, index: number, page: number, base: string) {
  const f = fileAt(r, index);
  const kind = kindByName(f.path);
  if (!hasRole(actor, "reviewer")) {
    return {
      body: <Notice kind="info">Only reviewers can see the content of a snapshot.</Notice>,
      panel: findingsOnly(f.findings),
      pager: null,
    };
  }
  if (
    f.findings.some((x) => x.rule === "binary_content" || x.rule === "type_mismatch") ||
    !["tabular", "text", "image"].includes(kind)
  ) {
    const why =
      kind === "document"
        ? "PDF files are not shown here (only text and images are)."
        : "This file cannot be shown: its type is not one the console displays.";
    return { body: <Notice kind="info">{why}</Notice>, panel: findingsOnly(f.findings), pager: null };
  }
  if (kind === "image") {
    return {
      body: (
        <figure class="figure">
          <img src={`${base}/image`} alt={`file ${index + 1} of request ${r.id} (image)`} />
        </figure>
      ),
      panel: findingsOnly(f.findings),
      pager: null,
    };
  }
  const { bytes } = await Egress.fileContent(deps, actor, r.id, index);
  if (kind === "text") return { ...textView(bytes, f.findings, base), pager: null };
  return tableView(bytes, f.path, f.findings, page, base);
}

export function fileReviewRoutes(app: Hono<ConsoleEnv>, deps: ApiDeps, o: ResolvedConsoleOptions): void {
  const path = `/egress/:id{${ID}}/files/:index{${INDEX}}`;

  app.get(path, async (c) => {
    const actor = c.get("actor");
    const id = c.req.param("id");
    const index = Number(c.req.param("index"));
    const page = Number(c.req.query("page") ?? "1") || 1;
    const { request: r, actions, draft } = await Egress.actions(deps, actor, id);
    const f = fileAt(r, index);
    const base = `/console/egress/${id}/files/${index}`;
    const shown = await content(deps, actor, r, index, page, base);
    const csrf = csrfToken(o.sessionKey, c.get("session").sid);
    const d: ReviewDraft | null = actions.review.allowed ? draft : null;
    const next = d ? nextUnmarked(d, index) : null;
    const n = r.files.length;
    return send(
      c,
      <Layout title={`File ${index + 1} of ${r.id}`} here="queue" {...frameOf(c, o)}>
        <p>
          <a href={`/console/egress/${id}`}>← Request {id}</a>
        </p>
        <h1>
          File {index + 1} of {n}: <span class="mono">{visible(f.path)}</span> <Verdict v={f.verdict} />
        </h1>
        <p class="muted">
          {fmtBytes(f.bytes)} · SHA-256 <span class="sha">{f.sha256}</span>
        </p>
        <nav class="filenav" aria-label="Files">
          {index > 0 ? (
            <a href={`/console/egress/${id}/files/${index - 1}`} data-key="k" rel="prev">
              ← Previous file <kbd>k</kbd>
            </a>
          ) : (
            <span class="muted">first file</span>
          )}
          {index < n - 1 ? (
            <a href={`/console/egress/${id}/files/${index + 1}`} data-key="j" rel="next">
              Next file <kbd>j</kbd> →
            </a>
          ) : (
            <span class="muted">last file</span>
          )}
          {d ? (
            next === null ? (
              <span class="muted">every file has a mark</span>
            ) : (
              <a href={`/console/egress/${id}/files/${next}`} data-key="n">
                Next unreviewed file <kbd>n</kbd>
              </a>
            )
          ) : null}
          {d ? (
            <a class="button primary" href={`/console/egress/${id}/decide`}>
              Decide…
            </a>
          ) : null}
        </nav>
        {d ? (
          <Marks base={base} csrf={csrf} mark={d.files[index] ?? null} page={page} />
        ) : actions.review.allowed || actions.review.code === "auth.role_required" ? null : (
          <p class="reason" data-refused={actions.review.code}>
            {actions.review.reason}
          </p>
        )}
        <p class="help">
          Keys: <kbd>j</kbd>/<kbd>k</kbd> next/previous file{d ? " · " : ""}
          {d ? (
            <>
              <kbd>a</kbd> approve · <kbd>c</kbd> request changes · <kbd>r</kbd> reject this file · <kbd>n</kbd> next
              unreviewed. Marks are drafts: the decision is made on the request.
            </>
          ) : null}
        </p>
        <div class="review-layout">
          <section aria-label="Content">
            {shown.pager}
            {shown.body}
          </section>
          {shown.panel}
        </div>
      </Layout>,
    );
  });

  app.post(`${path}/mark`, async (c) => {
    const id = c.req.param("id");
    const index = Number(c.req.param("index"));
    const form = await formOf(c);
    const mark = form.mark === "clear" ? null : form.mark;
    const input = DraftInput.safeParse({ file: { index, mark } });
    if (!input.success)
      throw new ValidationError("request.invalid", "mark a file approve, request changes or reject (or clear it)");
    await Egress.saveDraft(deps, c.get("actor"), id, input.data);
    const page = /^\d{1,2}$/.test(form.page ?? "") ? `?page=${form.page}` : "";
    return c.redirect(`/console/egress/${id}/files/${index}${page}`, 303);
  });

  app.get(`${path}/image`, async (c) => {
    const actor = c.get("actor");
    const id = c.req.param("id");
    const index = Number(c.req.param("index"));
    const r = await Egress.get(deps, actor, id);
    if (kindByName(fileAt(r, index).path) !== "image") throw new NotFoundError(`egress ${id} image`, String(index + 1));
    const { bytes } = await Egress.fileContent(deps, actor, id, index);
    const type = startsWith(bytes, SIGNATURES.png)
      ? "image/png"
      : startsWith(bytes, SIGNATURES.jpg)
        ? "image/jpeg"
        : null;
    if (!type) throw new NotFoundError(`egress ${id} image`, String(index + 1));
    return c.body(new Uint8Array(bytes), 200, {
      "content-type": type,
      "x-content-type-options": "nosniff",
      "content-disposition": "inline",
      "cache-control": "no-store",
    });
  });
}

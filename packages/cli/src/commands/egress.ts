/**
 * `spe egress ...`: request the release of output files, review requests, and download approved files
 * (checked byte for byte against the SHA-256 the reviewers approved).
 */
import { createHash, randomBytes } from "node:crypto";
import { lstatSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { EGRESS_STATUSES } from "@spe/core";
import { type Command, InvalidArgumentError, Option } from "commander";
import { CliError, EXIT_FAILURE } from "../errors";
import { cell, fields, printable, table, time } from "../format";
import { fetchBytes, type RawResponse, route } from "../http";
import { processIo } from "../io";
import { fetchList, type ListOptions, printList, withListOptions } from "../listing";
import type { EgressRequest } from "../resources";
import { action, type CliContext, type Session } from "../session";

type EgressFile = EgressRequest["files"][number];

interface DownloadLinks {
  files: { path: string; url: string; expiresAt: string }[];
}

/** A download link may be slow to serve a large file: more time than for an API call. */
const DOWNLOAD_TIMEOUT_MS = 300_000;
const SHA_HEADER = "x-content-sha256";
/** What S3 sends for the object metadata `sha256` when a download link redirects to a presigned GET (AWS). */
const S3_SHA_HEADER = "x-amz-meta-sha256";

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** A file index of a request: 0-49, as the API allows. */
function fileIndex(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n > 49) {
    throw new InvalidArgumentError("expected a file index, 0 to 49 (see `spe egress show`)");
  }
  return n;
}

const requestTable = (items: EgressRequest[]) =>
  table(items, [
    { header: "ID", value: (r) => r.id },
    { header: "STATUS", value: (r) => r.status },
    { header: "VERDICT", value: (r) => r.verdict },
    { header: "WORKSPACE", value: (r) => r.workspaceId },
    { header: "PERMIT", value: (r) => r.permitId },
    { header: "REQUESTER", value: (r) => r.requester },
    { header: "FILES", value: (r) => r.files.length },
    { header: "CREATED", value: (r) => time(r.createdAt) },
  ]);

const fileTable = (files: EgressFile[]) =>
  table(
    files.map((f, index) => ({ f, index })),
    [
      { header: "#", value: (x) => x.index },
      { header: "PATH", value: (x) => x.f.path },
      { header: "BYTES", value: (x) => x.f.bytes },
      { header: "VERDICT", value: (x) => x.f.verdict },
      { header: "FINDINGS", value: (x) => x.f.findings.length },
    ],
  );

/** Every finding, under the file it is in: `  rule severity location: message`. */
function findings(files: EgressFile[]): string {
  return files
    .filter((f) => f.findings.length > 0)
    .map(
      (f) =>
        `findings in ${cell(f.path)}:\n${f.findings
          .map((x) => `  ${cell(x.rule)} ${cell(x.severity)} ${cell(x.location)}: ${cell(x.message)}`)
          .join("\n")}`,
    )
    .join("\n\n");
}

/** Free text from a person (justification, comments): its lines kept, indented, control characters masked. */
const block = (text: string) =>
  text
    .split(/\r?\n/)
    .map((l) => `  ${printable(l)}`)
    .join("\n");

const summary = (r: EgressRequest) =>
  `egress request ${cell(r.id)}: ${cell(r.status)}, verdict ${cell(r.verdict)}, ${plural(r.files.length, "file")}`;

/** The files table and the findings of a request. */
function filesOf(r: EgressRequest): string {
  const found = findings(r.files);
  return found ? `${fileTable(r.files)}\n\n${found}` : fileTable(r.files);
}

export function egressDetails(r: EgressRequest): string {
  const head = fields([
    ["id", r.id],
    ["status", r.status],
    ["verdict", r.verdict],
    ["workspace", r.workspaceId],
    ["permit", r.permitId],
    ["requester", r.requester],
    ["created", time(r.createdAt)],
    ["decided", time(r.decidedAt)],
  ]);
  const reviews = r.reviews.length
    ? r.reviews
        .map(
          (v) =>
            `  ${cell(v.reviewer)} ${cell(v.decision)}${v.override ? " (override of a fail verdict)" : ""} at ${time(v.at)}` +
            (v.comment ? `\n${block(v.comment).replace(/^ {2}/gm, "    ")}` : ""),
        )
        .join("\n")
    : "  (none yet)";
  return `${head}\n\njustification:\n${block(r.justification)}\n\nfiles:\n${filesOf(r)}\n\nreviews:\n${reviews}`;
}

/** The SHA-256 a response claims for its body. @throws CliError (exit 1) when the header is missing. */
function claimedSha(res: RawResponse, what: string): string {
  const claimed = res.headers.get(SHA_HEADER);
  if (!claimed) throw new CliError(`the server sent ${what} without its ${SHA_HEADER} header`, EXIT_FAILURE);
  return claimed.trim().toLowerCase();
}

/**
 * The name a released file gets on disk: the last segment of its path, and only a plain name (no `/`,
 * `\`, `..`, NUL or other control characters) so that nothing the server says can write outside the
 * target directory.
 */
export function safeFileName(path: string): string | null {
  const name = path.split("/").at(-1) ?? "";
  if (name === "" || name === "." || name === ".." || /[/\\\u0000-\u001f\u007f]/.test(name)) return null;
  return name;
}

const exists = (path: string) => {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
};

/**
 * Text of a file for a terminal: refused when binary (NUL bytes or not UTF-8), control characters that
 * could hide content or drive the terminal (escape sequences, a lone carriage return) masked as `?`.
 */
export function forTerminal(bytes: Uint8Array): { text: string; masked: number } | null {
  if (bytes.includes(0)) return null;
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
  let masked = 0;
  const safe = text.replace(/\r(?!\n)|[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g, () => {
    masked++;
    return "?";
  });
  return { text: safe, masked };
}

/** Writes the bytes of a file to stdout: raw into a pipe, as masked text on a terminal (never binary). */
function writeToStdout(s: Session, bytes: Uint8Array, name: string): void {
  const io = s.ctx.io;
  if (io !== processIo) {
    io.stdout(Buffer.from(bytes).toString("utf8"));
    return;
  }
  if (!process.stdout.isTTY) {
    process.stdout.write(bytes);
    return;
  }
  const shown = forTerminal(bytes);
  if (!shown) {
    throw new CliError(`${name} is binary: not written to a terminal; use --out FILE or pipe the output`);
  }
  io.stdout(shown.text.endsWith("\n") || shown.text === "" ? shown.text : `${shown.text}\n`);
  if (shown.masked) s.out.note(`(${plural(shown.masked, "control character")} shown as ?)`);
}

/** Writes `bytes` to `file` through a temporary file in the same directory, so a failure leaves nothing half-written. */
function writeAtomically(file: string, dir: string, name: string, bytes: Uint8Array): void {
  const part = join(dir, `.${name}.${randomBytes(6).toString("hex")}.part`);
  try {
    writeFileSync(part, bytes, { flag: "wx" });
    renameSync(part, file);
  } catch (err) {
    rmSync(part, { force: true });
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(`cannot write ${file}: ${code ?? String(err)}`, EXIT_FAILURE);
  }
}

function writeLocal(path: string, data: string | Uint8Array): void {
  try {
    writeFileSync(path, data);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(`cannot write ${path}: ${code === "ENOENT" ? "no such directory" : (code ?? String(err))}`);
  }
}

interface Downloaded {
  path: string;
  file: string;
  bytes: number;
  sha256: string;
}

/** Downloads every file of an approved request into `dir`, each verified before it is written. */
async function download(s: Session, id: string, dir: string, force: boolean): Promise<Downloaded[]> {
  const api = s.api();
  const r = await api.get<EgressRequest>(route`/v1/egress-requests/${id}`);
  const targets = r.files.map((f) => {
    const name = safeFileName(f.path);
    if (!name) {
      throw new CliError(
        `the server named a file ${JSON.stringify(f.path)}: not a safe file name, nothing was downloaded`,
        EXIT_FAILURE,
      );
    }
    return { f, name, file: join(dir, name) };
  });
  const seen = new Map<string, string>();
  for (const t of targets) {
    const other = seen.get(t.name);
    if (other !== undefined) {
      throw new CliError(
        `${cell(other)} and ${cell(t.f.path)} would both be written as ${cell(t.file)}: nothing was downloaded`,
        EXIT_FAILURE,
      );
    }
    seen.set(t.name, t.f.path);
    if (!force && exists(t.file)) throw new CliError(`${t.file} exists: add --force to replace it`);
  }
  const links = await api.post<DownloadLinks>(route`/v1/egress-requests/${id}/downloads`, {});
  if (links.files.length !== targets.length || links.files.some((l, i) => l.path !== targets[i]?.f.path)) {
    throw new CliError(`the server's download links do not match the files of ${cell(id)}`, EXIT_FAILURE);
  }
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new CliError(`cannot create ${dir}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const done: Downloaded[] = [];
  for (const [i, t] of targets.entries()) {
    const link = links.files[i] as DownloadLinks["files"][number];
    // The link is the credential: the bearer token is never sent along (the link may point elsewhere).
    const res = await fetchBytes(link.url, { timeoutMs: DOWNLOAD_TIMEOUT_MS, maxBytes: t.f.bytes });
    const got = sha256(res.bytes);
    const header = (res.headers.get(SHA_HEADER) ?? res.headers.get(S3_SHA_HEADER))?.trim().toLowerCase();
    // Checked in memory before anything is written: a file that does not match never reaches the disk.
    if (got !== t.f.sha256 || header !== t.f.sha256 || res.bytes.byteLength !== t.f.bytes) {
      throw new CliError(
        `${cell(t.f.path)} does not match what was approved: ${res.bytes.byteLength} bytes, sha256 ${got}` +
          ` (header ${cell(header)}), expected ${t.f.bytes} bytes, sha256 ${cell(t.f.sha256)}; ${t.file} not written`,
        EXIT_FAILURE,
        done.length ? [`verified and kept: ${done.map((d) => d.file).join(", ")}`] : [],
      );
    }
    writeAtomically(t.file, dir, t.name, res.bytes);
    done.push({ path: t.f.path, file: t.file, bytes: res.bytes.byteLength, sha256: got });
    if (!s.out.json) {
      s.ctx.io.stdout(`downloaded ${cell(t.file)} (${plural(res.bytes.byteLength, "byte")}, sha256 ${got} verified)\n`);
    }
  }
  return done;
}

export function registerEgress(program: Command, ctx: CliContext): void {
  const egress = program
    .command("egress")
    .description("request the release of output files, review requests, download approved files");

  egress
    .command("request")
    .description("ask for output files to leave the workspace (owner): they are snapshotted and checked")
    .argument("<workspaceId>", "workspace id")
    .argument("<paths...>", "files under outputs/, e.g. outputs/table1.csv")
    .requiredOption("--justification <text>", "why these files must leave, for the reviewers")
    .addHelpText(
      "after",
      `
The files are snapshotted now: what is reviewed and released is exactly these bytes, whatever happens
to the workspace afterwards. Automated checks give each file a verdict (pass, review, fail) and findings
pointing at the cell; a reviewer decides.

Examples:
  spe egress request ws-123 outputs/table1.csv outputs/fig2.png --justification "Tables of the paper"`,
    )
    .action(
      action(ctx, async (s, workspaceId: string, paths: string[], opts: { justification: string }) => {
        const r = await s.api().post<EgressRequest>(route`/v1/workspaces/${workspaceId}/egress-requests`, {
          files: paths,
          justification: opts.justification,
        });
        s.out.result(r, (x) => `${summary(x)}\n\n${filesOf(x)}`);
        s.out.note(`follow it with: spe egress show ${cell(r.id)}`);
      }),
    );

  withListOptions(
    egress
      .command("list")
      .description("list egress requests (researchers: their own; reviewers, admins, auditors: all)")
      .addOption(new Option("--status <status>", "only those in this status").choices(EGRESS_STATUSES))
      .option("--permit <permitId>", "only those under this permit")
      .option("--workspace <workspaceId>", "only those from this workspace"),
  ).action(
    action(ctx, async (s, opts: ListOptions & { status?: string; permit?: string; workspace?: string }) => {
      const query = { status: opts.status, permitId: opts.permit, workspaceId: opts.workspace };
      const page = await fetchList<EgressRequest>(s.api(), "/v1/egress-requests", query, opts);
      printList(s, page, "egress requests", requestTable);
    }),
  );

  egress
    .command("show")
    .description("show a request: status, justification, files with their findings, reviews")
    .argument("<id>", "egress request id")
    .action(
      action(ctx, async (s, id: string) => {
        s.out.result(await s.api().get<EgressRequest>(route`/v1/egress-requests/${id}`), egressDetails);
      }),
    );

  egress
    .command("view")
    .description("read the snapshot of one file of a request, to review it (reviewer; audited)")
    .argument("<id>", "egress request id")
    .argument("<index>", "the file's number, as `spe egress show` lists it (0 is the first)", fileIndex)
    .option("--out <file>", "write the bytes to this file instead of stdout")
    .addHelpText(
      "after",
      `
The SHA-256 the server sends is checked against the bytes. On a terminal only text is shown, with
control characters masked; binary content needs --out or a pipe.

Examples:
  spe egress view eg-123 0
  spe egress view eg-123 1 --out /tmp/fig2.png`,
    )
    .action(
      action(ctx, async (s, id: string, index: number, opts: { out?: string }) => {
        const res = await s.api().getBytes(route`/v1/egress-requests/${id}/files/${String(index)}`);
        const claimed = claimedSha(res, `file ${index} of ${cell(id)}`);
        const got = sha256(res.bytes);
        if (got !== claimed) {
          throw new CliError(
            `file ${index} of ${cell(id)} arrived with sha256 ${got}, the server says ${cell(claimed)}: not written`,
            EXIT_FAILURE,
          );
        }
        if (opts.out === undefined) {
          writeToStdout(s, res.bytes, `file ${index} of ${cell(id)}`);
          return;
        }
        writeLocal(opts.out, res.bytes);
        const written = { file: opts.out, bytes: res.bytes.byteLength, sha256: got };
        s.out.result(written, (w) => `wrote ${w.file} (${plural(w.bytes, "byte")}, sha256 ${w.sha256} verified)`);
      }),
    );

  egress
    .command("review")
    .description("approve, reject or request changes to a request (reviewer, never your own request)")
    .argument("<id>", "egress request id")
    .option("--approve", "approve the release")
    .option("--reject", "reject it (needs --comment)")
    .option("--request-changes", "send it back to the researcher (needs --comment)")
    .option("--comment <text>", "why; required to reject, request changes, or approve despite a fail verdict")
    .addHelpText(
      "after",
      `
Exactly one of --approve, --reject and --request-changes. A request is approved once the permit's
number of reviewers approved it; the first reject or request for changes decides it.

Examples:
  spe egress review eg-123 --approve
  spe egress review eg-123 --reject --comment "row 3 counts fewer than 10 patients"`,
    )
    .action(
      action(
        ctx,
        async (
          s,
          id: string,
          opts: { approve?: boolean; reject?: boolean; requestChanges?: boolean; comment?: string },
        ) => {
          const chosen = (
            [
              ["approve", opts.approve],
              ["reject", opts.reject],
              ["request_changes", opts.requestChanges],
            ] as const
          ).filter(([, on]) => on);
          if (chosen.length !== 1) {
            throw new CliError(
              `choose exactly one of --approve, --reject and --request-changes (${chosen.length === 0 ? "none" : "several"} given)`,
            );
          }
          const decision = (chosen[0] as (typeof chosen)[number])[0];
          const body = opts.comment === undefined ? { decision } : { decision, comment: opts.comment };
          const r = await s.api().post<EgressRequest>(route`/v1/egress-requests/${id}/reviews`, body);
          s.out.result(r, (x) => `reviewed (${decision}): ${summary(x)}`);
        },
      ),
    );

  egress
    .command("withdraw")
    .description("withdraw your request while it is pending review (requester)")
    .argument("<id>", "egress request id")
    .action(
      action(ctx, async (s, id: string) => {
        const r = await s.api().post<EgressRequest>(route`/v1/egress-requests/${id}/withdraw`, {});
        s.out.result(r, (x) => `withdrew ${summary(x)}`);
      }),
    );

  egress
    .command("download")
    .description("download the files of your approved request into a directory, each verified by SHA-256")
    .argument("<id>", "egress request id")
    .requiredOption("--out <dir>", "the directory to write into (made if missing)")
    .option("--force", "replace files of the same name in the directory")
    .addHelpText(
      "after",
      `
Each file is written under its base name only (outputs/t/table1.csv becomes <dir>/table1.csv), and only
once its bytes match the SHA-256 that was reviewed and approved; on a mismatch it is not written and spe
exits 1. Download links are short-lived and work a limited number of times: each run asks for new ones.

Examples:
  spe egress download eg-123 --out ./released`,
    )
    .action(
      action(ctx, async (s, id: string, opts: { out: string; force?: boolean }) => {
        const done = await download(s, id, opts.out, !!opts.force);
        if (s.out.json) s.out.result({ files: done }, () => "");
      }),
    );

  egress
    .command("record")
    .description("the release record of an approved request: a Five Safes RO-Crate, JSON-LD (admin, auditor)")
    .argument("<id>", "egress request id")
    .option("--out <file>", "write it to this file instead of stdout (e.g. ro-crate-metadata.json)")
    .action(
      action(ctx, async (s, id: string, opts: { out?: string }) => {
        const crate = await s.api().get<Record<string, unknown>>(route`/v1/egress-requests/${id}/release-record`);
        const text = `${JSON.stringify(crate, null, 2)}\n`;
        if (opts.out === undefined) {
          s.ctx.io.stdout(text);
          return;
        }
        writeLocal(opts.out, text);
        s.out.result({ id, file: opts.out }, (w) => `wrote the release record of ${cell(w.id)} to ${w.file}`);
      }),
    );
}

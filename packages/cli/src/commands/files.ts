/** `spe files ...`: upload code and small inputs into a workspace's home/, list its outputs/ (or home/). */
import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { basename } from "node:path";
import { type Command, Option } from "commander";
import { CliError, EXIT_FAILURE } from "../errors";
import { cell, table } from "../format";
import { pathSegments, route } from "../http";
import type { OutputFile } from "../resources";
import { action, type CliContext } from "../session";

const DIRS = ["outputs", "home"] as const;

const fileTable = (items: OutputFile[]) =>
  table(items, [
    { header: "PATH", value: (f) => f.path },
    { header: "BYTES", value: (f) => f.bytes },
    { header: "SHA-256", value: (f) => f.sha256 },
  ]);

/** The bytes of a local file. @throws CliError (exit 2) when it is missing, a directory or unreadable. */
function readLocal(path: string): Uint8Array {
  try {
    if (statSync(path).isDirectory()) throw new CliError(`${path} is a directory: upload files one by one`);
    return readFileSync(path);
  } catch (err) {
    if (err instanceof CliError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(`cannot read ${path}: ${code === "ENOENT" ? "no such file" : (code ?? String(err))}`);
  }
}

export function registerFiles(program: Command, ctx: CliContext): void {
  const files = program
    .command("files")
    .description("upload code and inputs into a workspace's home/, list the files of its outputs/ or home/");

  files
    .command("upload")
    .description("upload a local file into the workspace's home/ (owner, workspace ready; server limit 1 MiB)")
    .argument("<workspaceId>", "workspace id")
    .argument("<localFile>", "the file to upload")
    .option("--as <path>", "its path under home/, may contain '/' (default: the local file's name)")
    .addHelpText(
      "after",
      `
The SHA-256 of the local file is checked against the one the server computed of what it stored.
A file over the server's limit is still sent: the server refuses it (HTTP 413) and nothing is written.`,
    )
    .action(
      action(ctx, async (s, workspaceId: string, localFile: string, opts: { as?: string }) => {
        const target = opts.as ?? basename(localFile);
        if (target === "") throw new CliError("--as must not be empty");
        const bytes = readLocal(localFile);
        const local = createHash("sha256").update(bytes).digest("hex");
        const stored = await s
          .api()
          .put<OutputFile>(`${route`/v1/workspaces/${workspaceId}/files/home`}/${pathSegments(target)}`, bytes);
        if (stored.sha256 !== local || stored.bytes !== bytes.byteLength) {
          throw new CliError(
            `the server stored ${cell(stored.path)} with ${cell(stored.bytes)} bytes, sha256 ${cell(stored.sha256)}, ` +
              `but ${localFile} has ${bytes.byteLength} bytes, sha256 ${local}: upload it again`,
            EXIT_FAILURE,
          );
        }
        s.out.result(
          stored,
          (f) => `uploaded ${cell(f.path)} (${f.bytes} byte${f.bytes === 1 ? "" : "s"}, sha256 ${cell(f.sha256)})`,
        );
      }),
    );

  files
    .command("list")
    .description("list the files of a workspace's outputs/ (or home/) with sizes and SHA-256 (owner)")
    .argument("<workspaceId>", "workspace id")
    .addOption(new Option("--dir <dir>", "which area").choices(DIRS).default("outputs"))
    .action(
      action(ctx, async (s, workspaceId: string, opts: { dir: (typeof DIRS)[number] }) => {
        const listed = await s
          .api()
          .get<{ items: OutputFile[] }>(route`/v1/workspaces/${workspaceId}/files`, { dir: opts.dir });
        s.out.result(listed, ({ items }) => (items.length ? fileTable(items) : `(no files in ${opts.dir}/)`));
      }),
    );
}

/** `spe workspaces ...`: launch, read, extend and terminate analysis workspaces under a permit. */
import { WORKSPACE_STATUSES } from "@spe/core";
import { type Command, Option } from "commander";
import { cell, fields, table, time } from "../format";
import { route } from "../http";
import { fetchList, type ListOptions, printList, withListOptions } from "../listing";
import { positiveNumber } from "../options";
import type { Workspace } from "../resources";
import { action, type CliContext } from "../session";

const ended = (w: Workspace) => (w.terminatedAt ? `${time(w.terminatedAt)} (${w.terminationReason ?? "-"})` : "-");

const workspaceTable = (items: Workspace[]) =>
  table(items, [
    { header: "ID", value: (w) => w.id },
    { header: "STATUS", value: (w) => w.status },
    { header: "PERMIT", value: (w) => w.permitId },
    { header: "OWNER", value: (w) => w.owner },
    { header: "CREATED", value: (w) => time(w.createdAt) },
    { header: "EXPIRES", value: (w) => time(w.expiresAt) },
    { header: "ENDED", value: ended },
  ]);

export function workspaceDetails(w: Workspace): string {
  const head = fields([
    ["id", w.id],
    ["status", w.status],
    ["permit", w.permitId],
    ["owner", w.owner],
    ["created", time(w.createdAt)],
    ["expires", time(w.expiresAt)],
    ["ended", ended(w)],
    ...(w.failureReason ? [["failure", w.failureReason] as const] : []),
  ]);
  if (!w.manifest) return head;
  const files = w.manifest.length
    ? table(w.manifest, [
        { header: "DATASET", value: (m) => m.dataset },
        { header: "PATH", value: (m) => m.path },
        { header: "BYTES", value: (m) => m.bytes },
        { header: "SHA-256", value: (m) => m.sha256 },
      ])
    : "(no staged files)";
  return `${head}\n\nstaged data:\n${files}`;
}

const summary = (w: Workspace) =>
  `workspace ${cell(w.id)} on permit ${cell(w.permitId)}: ${cell(w.status)}, expires ${time(w.expiresAt)}`;

export function registerWorkspaces(program: Command, ctx: CliContext): void {
  const workspaces = program
    .command("workspaces")
    .description("launch, list, show, extend and terminate analysis workspaces");

  workspaces
    .command("launch")
    .description("launch a workspace under a permit that names you (researcher)")
    .argument("<permitId>", "permit id")
    .option("--hours <n>", "how long it runs, up to the permit's maxWorkspaceHours (server default 4)", positiveNumber)
    .option("--idempotency-key <key>", "retrying with the same key returns the same workspace, launches nothing new")
    .action(
      action(ctx, async (s, permitId: string, opts: { hours?: number; idempotencyKey?: string }) => {
        const headers: Record<string, string> = opts.idempotencyKey ? { "idempotency-key": opts.idempotencyKey } : {};
        const body = opts.hours === undefined ? {} : { hours: opts.hours };
        const ws = await s.api().post<Workspace>(route`/v1/permits/${permitId}/workspaces`, body, headers);
        s.out.result(ws, (w) => `launched ${summary(w)}`);
        s.out.note(`follow it with: spe workspaces show ${cell(ws.id)}`);
      }),
    );

  withListOptions(
    workspaces
      .command("list")
      .description("list your workspaces (admin: all)")
      .option("--permit <permitId>", "only those of this permit")
      .addOption(new Option("--status <status>", "only those in this status").choices(WORKSPACE_STATUSES)),
  ).action(
    action(ctx, async (s, opts: ListOptions & { permit?: string; status?: string }) => {
      const query = { permitId: opts.permit, status: opts.status };
      const page = await fetchList<Workspace>(s.api(), "/v1/workspaces", query, opts);
      printList(s, page, "workspaces", workspaceTable);
    }),
  );

  workspaces
    .command("show")
    .description("show a workspace, with its staged files once ready")
    .argument("<id>", "workspace id")
    .action(
      action(ctx, async (s, id: string) => {
        s.out.result(await s.api().get<Workspace>(route`/v1/workspaces/${id}`), workspaceDetails);
      }),
    );

  workspaces
    .command("extend")
    .description("run a workspace longer, within the permit's limits")
    .argument("<id>", "workspace id")
    .requiredOption("--hours <n>", "hours to add to the current expiry", positiveNumber)
    .action(
      action(ctx, async (s, id: string, opts: { hours: number }) => {
        const ws = await s.api().post<Workspace>(route`/v1/workspaces/${id}/extend`, { hours: opts.hours });
        s.out.result(ws, (w) => `extended ${summary(w)}`);
      }),
    );

  workspaces
    .command("terminate")
    .description("terminate a workspace; its home and outputs are deleted")
    .argument("<id>", "workspace id")
    .action(
      action(ctx, async (s, id: string) => {
        const ws = await s.api().delete<Workspace>(route`/v1/workspaces/${id}`);
        s.out.result(
          ws,
          (w) =>
            `terminated workspace ${cell(w.id)}: ${cell(w.status)}${w.terminatedAt ? ` at ${time(w.terminatedAt)}` : ""}`,
        );
      }),
    );
}

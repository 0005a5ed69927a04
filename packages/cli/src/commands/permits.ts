/** `spe permits ...`: data permits, and the admin actions that suspend, reinstate and revoke them. */
import type { Command } from "commander";
import { cell, fields, list, pairs, table, time } from "../format";
import { route } from "../http";
import { readJsonFile } from "../json-file";
import { fetchList, type ListOptions, printList, withListOptions } from "../listing";
import type { Permit } from "../resources";
import { action, type CliContext, type Session } from "../session";

const permitTable = (items: Permit[]) =>
  table(items, [
    { header: "ID", value: (p) => p.id },
    { header: "STATUS", value: (p) => p.status },
    { header: "PURPOSE", value: (p) => p.purpose },
    { header: "PI", value: (p) => p.principalInvestigator },
    { header: "VALID FROM", value: (p) => time(p.validFrom) },
    { header: "VALID UNTIL", value: (p) => time(p.validUntil) },
    { header: "TITLE", value: (p) => p.title },
  ]);

export const permitDetails = (p: Permit) =>
  fields([
    ["id", p.id],
    ["status", p.stateReason ? `${p.status} (${p.stateReason})` : p.status],
    ["title", p.title],
    ["purpose", p.purpose],
    ["data user", p.dataUser],
    ["principal investigator", p.principalInvestigator],
    ["researchers", list(p.researchers)],
    ["datasets", list(p.datasets)],
    ["valid", `${time(p.validFrom)} to ${time(p.validUntil)}`],
    ["limits", pairs(p.limits)],
    ["egress", pairs(p.egress)],
    ["created", p.createdAt ? `${time(p.createdAt)} by ${p.createdBy ?? "-"}` : "-"],
    ["updated", time(p.updatedAt)],
  ]);

/** The admin actions on a permit: POST /v1/permits/{id}/<verb> with `{ reason }`. */
const ADMIN_ACTIONS = [
  { verb: "suspend", done: "suspended", reason: "required", about: "suspend a permit; its workspaces terminate" },
  { verb: "reinstate", done: "reinstated", reason: "optional", about: "reinstate a suspended permit" },
  {
    verb: "revoke",
    done: "revoked",
    reason: "required",
    about: "revoke a permit for good; its workspaces terminate, open egress requests are cancelled",
  },
] as const;

async function adminAction(s: Session, id: string, verb: string, done: string, reason: string | undefined) {
  const permit = await s.api().post<Permit>(route`/v1/permits/${id}/${verb}`, reason === undefined ? {} : { reason });
  s.out.result(permit, (p) => `${done} permit ${cell(p.id)}: now ${cell(p.status)}`);
}

export function registerPermits(program: Command, ctx: CliContext): void {
  const permits = program.command("permits").description("create, read, suspend, reinstate and revoke data permits");

  withListOptions(permits.command("list").description("list permits (researchers: those naming them)")).action(
    action(ctx, async (s, opts: ListOptions) => {
      const page = await fetchList<Permit>(s.api(), "/v1/permits", {}, opts);
      printList(s, page, "permits", permitTable);
    }),
  );

  permits
    .command("show")
    .description("show one permit")
    .argument("<id>", "permit id")
    .action(
      action(ctx, async (s, id: string) => {
        s.out.result(await s.api().get<Permit>(route`/v1/permits/${id}`), permitDetails);
      }),
    );

  permits
    .command("create")
    .description("create a permit (admin)")
    .requiredOption("--file <path>", "the permit as JSON (- for stdin)")
    .option("--idempotency-key <key>", "replaying the same key returns the first result")
    .addHelpText(
      "after",
      `
The file, e.g. (limits and egress are optional):
  { "id": "HDAB-PT-2026-0042", "title": "Survival after ...", "purpose": "scientific_research",
    "dataUser": "Universidade do Porto", "principalInvestigator": "alice", "researchers": ["alice", "carol"],
    "datasets": ["ds-oncology-2024"], "validFrom": "2026-01-01T00:00:00Z", "validUntil": "2027-01-01T00:00:00Z",
    "limits": { "maxConcurrentWorkspaces": 2, "maxWorkspaceHours": 8 } }`,
    )
    .action(
      action(ctx, async (s, opts: { file: string; idempotencyKey?: string }) => {
        const body = readJsonFile(opts.file);
        const headers: Record<string, string> = opts.idempotencyKey ? { "idempotency-key": opts.idempotencyKey } : {};
        const permit = await s.api().post<Permit>("/v1/permits", body, headers);
        s.out.result(permit, (p) => `created permit ${cell(p.id)}\n${permitDetails(p)}`);
      }),
    );

  for (const a of ADMIN_ACTIONS) {
    const cmd = permits.command(a.verb).description(`${a.about} (admin)`).argument("<id>", "permit id");
    if (a.reason === "required") cmd.requiredOption("--reason <text>", "why (kept in the permit and the audit trail)");
    else cmd.option("--reason <text>", "why (kept in the audit trail)");
    cmd.action(
      action(ctx, async (s, id: string, opts: { reason?: string }) => adminAction(s, id, a.verb, a.done, opts.reason)),
    );
  }
}

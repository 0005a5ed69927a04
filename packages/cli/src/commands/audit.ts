/** `spe audit list|verify`: search the audit trail, and verify its hash chain online or offline. */
import { resolve } from "node:path";
import type { Command } from "commander";
import { verifyArchiveDir } from "../archive-verify";
import { CliError } from "../errors";
import { pairs, table, time, truncate } from "../format";
import { fetchList, type ListOptions, printList, withListOptions } from "../listing";
import { verifyDataDir } from "../offline-verify";
import { wholeNumber } from "../options";
import type { AuditRecord, Verification } from "../resources";
import { action, type CliContext } from "../session";
import { describeVerification } from "../verification";

const auditTable = (items: AuditRecord[]) =>
  table(items, [
    { header: "SEQ", value: (r) => r.seq },
    { header: "AT", value: (r) => time(r.at) },
    { header: "ACTOR", value: (r) => r.actor },
    { header: "ACTION", value: (r) => r.action },
    { header: "OUTCOME", value: (r) => r.outcome },
    { header: "TARGET", value: (r) => r.target },
    { header: "DETAILS", value: (r) => truncate(pairs(r.details), 80) },
  ]);

interface AuditListOptions extends ListOptions {
  permit?: string;
  workspace?: string;
  actor?: string;
  action?: string;
  after?: number;
}

export function registerAudit(program: Command, ctx: CliContext): void {
  const audit = program.command("audit").description("search and verify the audit trail (admin, auditor)");

  withListOptions(
    audit
      .command("list")
      .description("list audit records, oldest first")
      .option("--permit <permitId>", "only records about this permit")
      .option("--workspace <workspaceId>", "only records about this workspace")
      .option("--actor <sub>", "only records by this actor")
      .option("--action <action>", "only this action, e.g. workspace.launched")
      .option("--after <seq>", "only records after this sequence number", wholeNumber),
  ).action(
    action(ctx, async (s, opts: AuditListOptions) => {
      const query = {
        permitId: opts.permit,
        workspaceId: opts.workspace,
        actor: opts.actor,
        action: opts.action,
        after: opts.after,
      };
      const page = await fetchList<AuditRecord>(s.api(), "/v1/audit", query, opts);
      printList(s, page, "audit records", auditTable);
    }),
  );

  audit
    .command("verify")
    .description("verify the hash chain and its signed seals; exits 1 when the chain is broken")
    .option("--data-dir <dir>", "check a node's data directory offline, without the server")
    .option("--archive <dir>", "check a copy of the AWS audit archive bucket offline (needs --public-key)")
    .option(
      "--public-key <pem>",
      "the audit signing public key kept elsewhere: with --data-dir (else <dir>/keys/audit-signing.pub.pem) or --archive (PEM or DER)",
    )
    .addHelpText(
      "after",
      `
Without --data-dir the server verifies its own trail (GET /v1/audit/verify, needs a token).
With --data-dir the database and the audit key are opened read-only and checked here; no server,
no token. Exit codes: 0 intact, 1 broken (or the server failed), 2 no database in the directory.
Someone who can rewrite the data directory can also replace its key: pass --public-key with a copy
of keys/audit-signing.pub.pem kept elsewhere (the server prints its fingerprint at start).
On AWS, the archive alone is enough:
  aws s3 sync s3://<audit archive bucket> ./audit-archive
  aws kms get-public-key --key-id <audit key ARN> --query PublicKey --output text | base64 -d > audit.der
  spe audit verify --archive ./audit-archive --public-key audit.der`,
    )
    .action(
      action(ctx, async (s, opts: { dataDir?: string; archive?: string; publicKey?: string }) => {
        if (opts.dataDir && opts.archive) throw new CliError("give --data-dir or --archive, not both");
        if (opts.publicKey && !opts.dataDir && !opts.archive) {
          throw new CliError("--public-key goes with --data-dir or --archive");
        }
        if (opts.archive && !opts.publicKey) {
          throw new CliError("--archive needs --public-key: the archive holds no key to trust");
        }
        const result = opts.archive
          ? await verifyArchiveDir(resolve(opts.archive), resolve(opts.publicKey as string))
          : opts.dataDir
            ? await verifyDataDir(resolve(opts.dataDir), opts.publicKey ? resolve(opts.publicKey) : undefined)
            : await s.api().get<Verification>("/v1/audit/verify");
        s.out.result(result, describeVerification);
        if (!result.ok) s.exitWith(1);
      }),
    );
}

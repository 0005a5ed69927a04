/**
 * `spe token`: a JWT signed by the local node's issuer key, for trying the API on one node. The key
 * must exist already (the server creates it on first start): a key made here would be unknown to it.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { ROLES, type Role } from "@spe/core";
import type { Command } from "commander";
import { CliError } from "../errors";
import { action, type CliContext } from "../session";

interface TokenOptions {
  user: string;
  roles: string;
  ttl: string;
  dataDir?: string;
}

/** @throws CliError (exit 2) on an empty list or a role the API does not know. */
export function parseRoles(value: string): Role[] {
  const roles = [
    ...new Set(
      value
        .split(",")
        .map((r) => r.trim())
        .filter(Boolean),
    ),
  ];
  if (roles.length === 0) throw new CliError(`no roles given: use one or more of ${ROLES.join(", ")}`);
  for (const role of roles) {
    if (!(ROLES as readonly string[]).includes(role)) {
      throw new CliError(`unknown role ${JSON.stringify(role)}: use one or more of ${ROLES.join(", ")}`);
    }
  }
  return roles as Role[];
}

/** A token from the local node's issuer key, with its subject, roles and expiry. @throws CliError on bad input. */
export async function mintLocalToken(
  ctx: CliContext,
  opts: { user?: string; roles?: string; ttl: string; dataDir?: string },
): Promise<{ token: string; sub: string; roles: Role[]; expiresAt: string }> {
  const user = (opts.user ?? "").trim();
  if (!user || /[\s\u0000-\u001f]/.test(user)) {
    throw new CliError(`invalid user ${JSON.stringify(opts.user)}: no spaces or control characters`);
  }
  if (!opts.roles) throw new CliError("--user needs --roles, e.g. --roles reviewer");
  const roles = parseRoles(opts.roles);
  // Loaded on demand: the server adapters (SQLite, crypto) are not needed by the other commands.
  const { issueToken, loadOrCreateKey, parseTtl } = await import("@spe/local");
  let ttl: number;
  try {
    ttl = parseTtl(opts.ttl);
  } catch (err) {
    throw new CliError(err instanceof Error ? err.message : String(err));
  }
  const dataDir = opts.dataDir ? resolve(opts.dataDir) : ctx.settings.dataDir;
  const keys = join(dataDir, "keys");
  if (!existsSync(join(keys, "jwt-issuer.pem"))) {
    throw new CliError(`no issuer key in ${dataDir}: start the server first (\`npm start\`), which creates it`, 2, [
      "or pass --data-dir (or set SPE_DATA_DIR) to the data directory of the running server",
    ]);
  }
  const token = await issueToken(loadOrCreateKey(keys, "jwt-issuer"), user, roles, ttl);
  return { token, sub: user, roles, expiresAt: new Date(Date.now() + ttl * 1000).toISOString() };
}

export function registerToken(program: Command, ctx: CliContext): void {
  program
    .command("token")
    .description("print a JWT signed by the local node's issuer key (single-node mode)")
    .requiredOption("--user <sub>", "the subject (user id) of the token")
    .requiredOption("--roles <roles>", `comma-separated roles: ${ROLES.join(", ")}`)
    .option("--ttl <ttl>", "lifetime: a number and s, m, h or d (at most 30d)", "1h")
    .option("--data-dir <dir>", "the node's data directory (default: $SPE_DATA_DIR or ./.spe)")
    .addHelpText("after", "\nExample:\n  export SPE_TOKEN=$(npx spe token --user alice --roles researcher --ttl 8h)")
    .action(
      action(ctx, async (s, opts: TokenOptions) => {
        s.out.result(await mintLocalToken(ctx, opts), (t) => t.token);
      }),
    );
}

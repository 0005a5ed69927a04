/**
 * `spe console`: opens the web console in the browser, already signed in. It takes the CLI's token
 * (`--token`/SPE_TOKEN) or, on one node, mints one with the node's issuer key (`--user`, `--roles`, as
 * `spe token` does), exchanges it at the server for a one-time sign-in link (POST /console/links), prints
 * the link and opens it (only an http(s) link on the API's own origin). The link carries a random code that works once, within a minute: never the
 * token, and nothing that outlives its one use.
 */
import { spawn } from "node:child_process";
import type { Command } from "commander";
import { CliError } from "../errors";
import { ApiClient } from "../http";
import { action, type CliContext, type GlobalOptions } from "../session";
import { mintLocalToken } from "./token";

interface ConsoleOptions {
  user?: string;
  roles?: string;
  ttl: string;
  dataDir?: string;
  open: boolean;
}

/**
 * The sign-in link the server answered, if it is safe to print and open: http(s), on the configured API's
 * origin, and made only of characters no shell or `cmd /c start` gives a meaning to (`&`, `|`, `^`, `%`, quotes,
 * spaces are refused). The server's links are `<origin>/console/sign-in/link?code=<base64url>`.
 * @throws CliError otherwise (a misbehaving or impersonated server must not make the CLI run anything).
 */
export function checkConsoleLink(link: unknown, apiUrl: string): string {
  const shown = JSON.stringify(String(link).slice(0, 200));
  let origin: string;
  try {
    origin = new URL(apiUrl).origin;
  } catch {
    throw new CliError(`the API URL ${JSON.stringify(apiUrl)} is not a URL`);
  }
  let parsed: URL | null = null;
  try {
    parsed = typeof link === "string" ? new URL(link) : null;
  } catch {
    parsed = null;
  }
  if (
    !parsed ||
    typeof link !== "string" ||
    !/^https?:$/.test(parsed.protocol) ||
    parsed.origin !== origin ||
    !/^[A-Za-z0-9._~:/?=-]+$/.test(link) ||
    !link.startsWith(`${origin}/`)
  ) {
    throw new CliError(
      `the server answered a sign-in link ${shown} that is not an http(s) link on ${origin}: not opening it`,
    );
  }
  return link;
}

/** The command that opens a URL in the desktop's browser, per platform. */
function opener(url: string): [string, string[]] {
  if (process.platform === "darwin") return ["open", [url]];
  if (process.platform === "win32") return ["cmd", ["/c", "start", "", url]];
  return ["xdg-open", [url]];
}

/** Opens `url` in a browser; resolves false when no opener could be started. */
function openBrowser(url: string): Promise<boolean> {
  const [cmd, args] = opener(url);
  return new Promise((done) => {
    try {
      const child = spawn(cmd, args, { stdio: "ignore", detached: true });
      child.once("error", () => done(false));
      child.once("spawn", () => {
        child.unref();
        done(true);
      });
    } catch {
      done(false);
    }
  });
}

const mintToken = async (ctx: CliContext, opts: ConsoleOptions) => (await mintLocalToken(ctx, opts)).token;

export function registerConsole(program: Command, ctx: CliContext): void {
  program
    .command("console")
    .description("open the web console in your browser, signed in (reviewers, admins, auditors)")
    .option("--user <sub>", "single-node mode: mint a token for this user with the node's issuer key")
    .option("--roles <roles>", "with --user: comma-separated roles, e.g. reviewer")
    .option("--ttl <ttl>", "with --user: the token's lifetime, which the console session cannot outlive", "8h")
    .option("--data-dir <dir>", "with --user: the node's data directory (default: $SPE_DATA_DIR or ./.spe)")
    .option("--no-open", "print the one-time link without opening a browser")
    .addHelpText(
      "after",
      "\nExamples:\n  npx spe console --user rui --roles reviewer     # on the node\n  SPE_TOKEN=... npx spe console --no-open",
    )
    .action(
      action(ctx, async (s, opts: ConsoleOptions) => {
        const url = program.opts<GlobalOptions>().url || ctx.settings.url;
        const api = opts.user ? new ApiClient({ url, token: await mintToken(ctx, opts) }) : s.api();
        const link = await api.post<{ url: string; expiresAt: string }>("/console/links", {});
        const safe = checkConsoleLink(link?.url, url);
        s.out.result(link, () => safe);
        if (!opts.open) return;
        if (await openBrowser(safe))
          s.out.note("opened the console in your browser: press Continue there; the link works once, for a minute");
        else s.out.note("could not open a browser: open the link above yourself, within a minute");
      }),
    );
}

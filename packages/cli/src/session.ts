/**
 * What every command action gets: the output (text or `--json`) and, for server commands, an API client
 * built from `--url`/`SPE_URL` and `--token`/`SPE_TOKEN`.
 */
import type { Command } from "commander";
import { CliError } from "./errors";
import { ApiClient } from "./http";
import type { Io } from "./io";
import { Output } from "./output";
import type { Settings } from "./settings";

/** The options of the `spe` program itself, valid before or after any subcommand. */
export interface GlobalOptions {
  json?: boolean;
  token?: string;
  url?: string;
}

/** One run of the command: where to write, the settings, and the exit code an action may set. */
export interface CliContext {
  io: Io;
  settings: Settings;
  exitCode: number;
}

export class Session {
  readonly out: Output;

  constructor(
    readonly ctx: CliContext,
    private readonly globals: GlobalOptions,
  ) {
    this.out = new Output(ctx.io, !!globals.json);
  }

  /** @throws CliError (exit 2) when no token was given. */
  api(): ApiClient {
    const token = this.globals.token || this.ctx.settings.token;
    if (!token) {
      throw new CliError("no token: pass --token <jwt> or set SPE_TOKEN", 2, [
        "on a local node, make one with `npx spe token --user <you> --roles researcher`",
      ]);
    }
    return new ApiClient({ url: this.globals.url || this.ctx.settings.url, token });
  }

  /** Sets the exit code of this run (a check that found a problem) without throwing. */
  exitWith(code: number): void {
    this.ctx.exitCode = code;
  }
}

/**
 * Wraps a command action: commander passes the arguments, the options and the command; the action gets
 * a Session first, then the arguments and options.
 */
export function action<A extends unknown[]>(ctx: CliContext, run: (s: Session, ...args: A) => Promise<void>) {
  return async (...args: unknown[]): Promise<void> => {
    const cmd = args.at(-1) as Command;
    await run(new Session(ctx, cmd.optsWithGlobals<GlobalOptions>()), ...(args.slice(0, -1) as A));
  };
}

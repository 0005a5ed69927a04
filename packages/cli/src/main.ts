/**
 * The `spe` command: runs one command line and returns its exit code (0 done, 1 failed or a broken
 * audit chain, 2 usage or local configuration). Errors are printed as messages, never as stack traces.
 */
import { CommanderError } from "commander";
import { CliError, EXIT_FAILURE, EXIT_USAGE } from "./errors";
import { type Io, processIo } from "./io";
import { buildProgram } from "./program";
import type { CliContext } from "./session";
import { settingsFrom } from "./settings";

/**
 * Runs `spe <argv>`. The environment (SPE_URL, SPE_TOKEN, SPE_DATA_DIR) is read here and only here.
 * @example process.exitCode = await main(process.argv.slice(2));
 */
export async function main(argv: string[], io: Io = processIo): Promise<number> {
  const ctx: CliContext = { io, settings: settingsFrom(process.env), exitCode: 0 };
  try {
    const program = buildProgram(ctx);
    if (argv.length === 0) {
      program.outputHelp();
      return 0;
    }
    await program.parseAsync(argv, { from: "user" });
    return ctx.exitCode;
  } catch (err) {
    return report(io, err);
  }
}

function report(io: Io, err: unknown): number {
  // Commander has printed its own message (or the help) already.
  if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : EXIT_USAGE;
  if (err instanceof CliError) {
    io.stderr(`error: ${err.message}\n${err.lines.map((l) => `${l}\n`).join("")}`);
    return err.exitCode;
  }
  const message = err instanceof Error ? err.message : String(err);
  io.stderr(`error: ${message}\n`);
  return EXIT_FAILURE;
}

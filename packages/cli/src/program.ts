/** The `spe` command tree: global options, the subcommands, and help text for all of them. */
import { Command } from "commander";
import { registerAudit } from "./commands/audit";
import { registerConsole } from "./commands/console";
import { registerDatasets } from "./commands/datasets";
import { registerEgress } from "./commands/egress";
import { registerFiles } from "./commands/files";
import { registerJobs } from "./commands/jobs";
import { registerPermits } from "./commands/permits";
import { registerToken } from "./commands/token";
import { registerWorkspaces } from "./commands/workspaces";
import type { CliContext } from "./session";
import { DEFAULT_URL } from "./settings";

const VERSION = "0.1.0";

/** Builds a fresh program writing to `ctx.io`; commander never exits the process (errors are thrown). */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command("spe")
    .description(
      "Command line for the SPE controller: permits, datasets, workspaces, their files and jobs, egress, and the audit trail",
    )
    .version(VERSION, "-V, --version", "print the version")
    .option("--json", "print the raw JSON of the API (for scripts)")
    .option("--token <jwt>", "bearer token (default: $SPE_TOKEN)")
    .option("--url <url>", `server URL (default: $SPE_URL or ${DEFAULT_URL})`)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => ctx.io.stdout(text),
      writeErr: (text) => ctx.io.stderr(text),
    })
    .showHelpAfterError("(add --help for usage)")
    .addHelpText(
      "after",
      `
Environment:
  SPE_URL       the server (default ${DEFAULT_URL})
  SPE_TOKEN     bearer token for server commands
  SPE_DATA_DIR  data directory of a local node, for \`spe token\` (default ./.spe)

Examples:
  export SPE_TOKEN=$(npx spe token --user alice --roles researcher)
  npx spe workspaces launch HDAB-PT-2026-0042 --hours 2
  npx spe files upload ws-123 analysis.py
  npx spe jobs run ws-123 -- python3 home/analysis.py
  npx spe files list ws-123
  npx spe egress request ws-123 outputs/table1.csv --justification "Table 2 of the paper"
  npx spe egress review eg-456 --approve          # as a reviewer
  npx spe egress download eg-456 --out ./released
  npx spe console --user rui --roles reviewer      # the web console, signed in
  npx spe --json permits list --all
  npx spe audit verify --data-dir .spe`,
    );
  // Subcommands made with .command() inherit exitOverride and the output configuration set above.
  registerToken(program, ctx);
  registerDatasets(program, ctx);
  registerPermits(program, ctx);
  registerWorkspaces(program, ctx);
  registerFiles(program, ctx);
  registerJobs(program, ctx);
  registerEgress(program, ctx);
  registerAudit(program, ctx);
  registerConsole(program, ctx);
  return program;
}

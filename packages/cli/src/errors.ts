/**
 * Errors the command reports: a message (and extra lines) for stderr and an exit code. 2 is a usage or
 * local configuration problem, 1 a failure reported by (or reaching) the server.
 */
import { printable } from "./format";
import type { Problem } from "./resources";

export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT_USAGE,
    readonly lines: readonly string[] = [],
  ) {
    super(message);
    this.name = "CliError";
  }
}

const HINTS: Record<number, string> = {
  401: "the token is missing, invalid or expired: make one with `npx spe token --user U --roles R` and set SPE_TOKEN",
};

/** The server answered with a problem (RFC 9457): its detail, and the field errors of a 400. */
export class ApiError extends CliError {
  constructor(
    readonly status: number,
    readonly problem: Problem,
  ) {
    const fields = (problem.errors ?? []).map((e) => printable(`  ${e.path}: ${e.message}`));
    const hint = HINTS[status];
    const detail = printable(String(problem.detail || problem.title || `HTTP ${status}`));
    super(detail, EXIT_FAILURE, hint ? [...fields, hint] : fields);
    this.name = "ApiError";
  }
}

/** No answer from the server: not running, wrong URL, or too slow. */
export class UnreachableError extends CliError {
  constructor(url: string, why: string) {
    super(`the SPE server is not reachable at ${url} (${why})`, EXIT_FAILURE, [
      "start it with `npm start`, or point SPE_URL at a running server",
    ]);
    this.name = "UnreachableError";
  }
}

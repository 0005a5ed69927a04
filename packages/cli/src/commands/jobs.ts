/** `spe jobs ...`: run a command in a workspace's sandbox, wait for it, and read its result. */
import { type Command, InvalidArgumentError } from "commander";
import { CliError, EXIT_FAILURE, UnreachableError } from "../errors";
import { cell, fields, time } from "../format";
import { type ApiClient, route } from "../http";
import type { JobView } from "../resources";
import { action, type CliContext, type Session } from "../session";

/** Wait between two reads of a running job; POLL_MAX_MS once the job has run a while. */
const POLL_MS = 200;
const POLL_MAX_MS = 1000;
/** Polling stays at POLL_MS this long, then backs off (each read is an audit record on the server). */
const FAST_POLL_FOR_MS = 3000;
/** The first progress note comes after this long, the next ones at this interval. */
const NOTE_EVERY_MS = 3000;
/** Consecutive failed reads (server unreachable) tolerated while waiting. */
const MAX_READ_FAILURES = 5;
const DEFAULT_TAIL = 20;

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));
const isOpen = (j: JobView) => j.status === "queued" || j.status === "running";

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError("expected a whole number > 0");
  }
  return n;
}

function tailLines(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) throw new InvalidArgumentError("expected a number >= 0");
  return n;
}

/** The command as one shell-like line: arguments with spaces or quotes are single-quoted. */
export function commandLine(command: readonly string[]): string {
  return command.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(" ");
}

function duration(from: string | null, to: string | null): string {
  if (!from || !to) return "-";
  const ms = Date.parse(to) - Date.parse(from);
  return Number.isFinite(ms) ? `${(ms / 1000).toFixed(1)} s` : "-";
}

// Output of the job is shown as text lines: escape sequences and other control characters (tabs aside) are masked.
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** The last `n` lines of a job's output (all of them with 0), or a marker when it is empty. */
function tail(text: string, n: number): { heading: string; body: string } {
  if (text === "") return { heading: "", body: "(empty)" };
  const lines = text.replace(/\n$/, "").split("\n");
  const shown = n === 0 || lines.length <= n ? lines : lines.slice(-n);
  const heading = shown.length < lines.length ? ` (last ${shown.length} of ${lines.length} lines)` : "";
  return { heading, body: shown.map((l) => l.replace(/\r$/, "").replace(CONTROL, "?")).join("\n") };
}

export function jobDetails(j: JobView, lines = DEFAULT_TAIL): string {
  const head = fields([
    ["id", j.id],
    ["workspace", j.workspaceId],
    ["status", j.status],
    ["exit code", j.exitCode],
    ["reason", j.reason],
    ["command", commandLine(j.command)],
    ["timeout", `${j.timeoutSeconds} s`],
    ["created", time(j.createdAt)],
    ["started", time(j.startedAt)],
    ["finished", time(j.finishedAt)],
    ["duration", duration(j.startedAt, j.finishedAt)],
  ]);
  if (isOpen(j)) return `${head}\n\n(output is available once the job has ended)`;
  const out = tail(j.stdout, lines);
  const err = tail(j.stderr, lines);
  return `${head}\n\nstdout${out.heading}:\n${out.body}\n\nstderr${err.heading}:\n${err.body}`;
}

/** One line on how a job ended, for stderr: `job job-1 timed_out: killed after its timeout of 1 s`. */
function ending(j: JobView): string {
  const why = j.reason ?? (j.exitCode === null ? "no exit code" : `exit code ${j.exitCode}`);
  return `job ${cell(j.id)} ${cell(j.status)}: ${cell(why)}`;
}

/** The exit code of `spe jobs run` for an ended job: the job's own, else 1 when it did not succeed. */
function exitCodeOf(j: JobView): number {
  if (j.status === "succeeded") return 0;
  if (j.status === "failed" && j.exitCode !== null && j.exitCode > 0 && j.exitCode < 256) return j.exitCode;
  return EXIT_FAILURE;
}

/** Reads the job until it has ended, with a progress note on stderr every few seconds. */
async function waitFor(s: Session, api: ApiClient, workspaceId: string, jobId: string): Promise<JobView> {
  const path = route`/v1/workspaces/${workspaceId}/jobs/${jobId}`;
  const since = Date.now();
  let failures = 0;
  let nextNote = since + NOTE_EVERY_MS;
  let notes = 0;
  for (;;) {
    let job: JobView | undefined;
    try {
      job = await api.get<JobView>(path);
      failures = 0;
    } catch (err) {
      if (!(err instanceof UnreachableError) || ++failures >= MAX_READ_FAILURES) {
        const lines = err instanceof CliError ? err.lines : [];
        const message = err instanceof Error ? err.message : String(err);
        throw new CliError(message, EXIT_FAILURE, [
          ...lines,
          `job ${jobId} may still be running: spe jobs show ${workspaceId} ${jobId}`,
        ]);
      }
    }
    if (job && !isOpen(job)) return job;
    const elapsed = Date.now() - since;
    if (job && Date.now() >= nextNote) {
      const hint = notes++ === 0 ? "; Ctrl-C stops waiting, not the job" : "";
      s.out.note(`job ${cell(job.id)} ${cell(job.status)} (${Math.round(elapsed / 1000)} s)${hint}`);
      nextNote = Date.now() + NOTE_EVERY_MS;
    }
    await sleep(elapsed < FAST_POLL_FOR_MS ? POLL_MS : POLL_MAX_MS);
  }
}

export function registerJobs(program: Command, ctx: CliContext): void {
  const jobs = program.command("jobs").description("run commands in a workspace's sandbox and read their results");

  jobs
    .command("run")
    .description("run a command in the workspace (owner, workspace ready), wait for it and print its output")
    .usage("[options] <workspaceId> -- <command...>")
    .argument("<workspaceId>", "workspace id")
    .argument("<command...>", "the program and its arguments, after `--`")
    .option(
      "--timeout <seconds>",
      "kill the job after this long (server default: 600 s or the time left)",
      positiveInteger,
    )
    .option("--no-wait", "print the job id and return at once instead of waiting for the job")
    .addHelpText(
      "after",
      `
Everything after \`--\` is the command, options included. It runs with the workspace as working directory:
data/ (read-only staged datasets), home/ (your uploads), outputs/ (results, leave only through egress).

Waiting, the job's stdout and stderr are printed once it has ended and spe exits with the job's exit code;
a job that timed out, was cancelled or failed without an exit code exits 1 with the reason on stderr.

Examples:
  spe jobs run ws-123 -- python3 home/analysis.py --stage II
  spe jobs run ws-123 --timeout 3600 --no-wait -- Rscript home/model.R`,
    )
    .action(
      action(ctx, async (s, workspaceId: string, command: string[], opts: { timeout?: number; wait: boolean }) => {
        const api = s.api();
        const body = opts.timeout === undefined ? { command } : { command, timeoutSeconds: opts.timeout };
        const submitted = await api.post<JobView>(route`/v1/workspaces/${workspaceId}/jobs`, body);
        if (!opts.wait) {
          s.out.result(submitted, (j) => `job ${cell(j.id)}: ${cell(j.status)}`);
          s.out.note(`follow it with: spe jobs show ${cell(workspaceId)} ${cell(submitted.id)}`);
          return;
        }
        const job = await waitFor(s, api, workspaceId, submitted.id);
        if (s.out.json) s.out.result(job, () => "");
        else {
          s.ctx.io.stdout(job.stdout);
          s.ctx.io.stderr(job.stderr);
        }
        if (job.status !== "succeeded") s.out.note(ending(job));
        s.exitWith(exitCodeOf(job));
      }),
    );

  jobs
    .command("show")
    .description("show a job: status, exit code, times, and the end of its stdout and stderr (owner)")
    .argument("<workspaceId>", "workspace id")
    .argument("<jobId>", "job id")
    .option("--tail <lines>", `lines of stdout and stderr to show, 0 for all (default ${DEFAULT_TAIL})`, tailLines)
    .action(
      action(ctx, async (s, workspaceId: string, jobId: string, opts: { tail?: number }) => {
        const job = await s.api().get<JobView>(route`/v1/workspaces/${workspaceId}/jobs/${jobId}`);
        s.out.result(job, (j) => jobDetails(j, opts.tail ?? DEFAULT_TAIL));
      }),
    );
}

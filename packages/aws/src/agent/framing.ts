/**
 * How the agent writes a job's stdout and stderr to its one log stream, and how the controller reads them
 * back apart. The awslogs driver merges a container's stdout and stderr into one stream of lines, so the
 * agent writes everything to its own stdout, one record per line, each starting with a tag:
 *
 *     out| a line the job wrote to stdout
 *     err| a line the job wrote to stderr
 *     out+ a fragment of a longer stdout line: the next `out` record continues it (no newline between)
 *     spe| {"event":"end","outcome":"failed","exitCode":3,...}   (the agent's own records, JSON)
 *
 * An operator reads the stream as it is; the controller splits it by tag. A job cannot forge an agent
 * record: every byte it writes lands after an `out`/`err` tag. Records are at most 8 KiB of text, below
 * the 16 KiB at which Docker splits a line, and fragments end on a UTF-8 character boundary.
 * Node builtins only: bundled into the agent.
 */
import type { AgentRecord, EndRecord } from "./protocol";

export const TAGS = { stdout: "out", stderr: "err", agent: "spe" } as const;
export type JobStream = "stdout" | "stderr";

/** The most bytes of job output in one record. */
export const MAX_FRAGMENT_BYTES = 8 * 1024;
/** What the controller keeps of each stream, as the one-node runtime does. */
export const LOG_TAIL_BYTES = 1024 * 1024;

const NEWLINE = 0x0a;

/** The largest cut <= `at` that does not split a UTF-8 sequence (at most 3 continuation bytes back). */
function charBoundary(buf: Buffer, at: number): number {
  const continuation = (i: number) => (buf[i]! & 0xc0) === 0x80;
  let cut = at;
  while (cut > at - 3 && cut > 0 && continuation(cut)) cut--;
  return cut > 0 && !continuation(cut) ? cut : at; // not UTF-8 here: cut anywhere
}

/** One record line, without its newline. */
export function agentLine(record: AgentRecord): string {
  return `${TAGS.agent}| ${JSON.stringify(record)}`;
}

/** Splits one stream of job output into tagged records; `emit` gets each line without its newline. */
export class StreamFramer {
  private pending: Buffer = Buffer.alloc(0);

  constructor(
    private readonly stream: JobStream,
    private readonly emit: (line: string) => void,
  ) {}

  private record(bytes: Buffer, whole: boolean): void {
    const text = bytes.toString("utf8");
    const tag = `${TAGS[this.stream]}${whole ? "|" : "+"}`;
    this.emit(text.length > 0 ? `${tag} ${text}` : tag);
  }

  /** Emits full fragments of a partial line, keeping the rest pending. */
  private drain(): void {
    while (this.pending.length > MAX_FRAGMENT_BYTES) {
      const cut = charBoundary(this.pending, MAX_FRAGMENT_BYTES);
      this.record(this.pending.subarray(0, cut), false);
      this.pending = this.pending.subarray(cut);
    }
  }

  push(chunk: Buffer): void {
    let start = 0;
    for (let nl = chunk.indexOf(NEWLINE); nl !== -1; nl = chunk.indexOf(NEWLINE, start)) {
      this.pending = Buffer.concat([this.pending, chunk.subarray(start, nl)]);
      this.drain();
      // A line of exactly MAX_FRAGMENT_BYTES stays pending above and is emitted whole here.
      this.record(this.pending, true);
      this.pending = Buffer.alloc(0);
      start = nl + 1;
    }
    if (start < chunk.length) {
      this.pending = Buffer.concat([this.pending, chunk.subarray(start)]);
      this.drain();
    }
  }

  /** Emits what is left of an unterminated last line, as a fragment (so no newline is invented). */
  end(): void {
    if (this.pending.length > 0) this.record(this.pending, false);
    this.pending = Buffer.alloc(0);
  }
}

/** The last `limit` bytes of a stream, and how many came before them. */
export class ByteTail {
  private chunks: Buffer[] = [];
  private held = 0;
  dropped = 0;

  constructor(readonly limit: number) {}

  push(chunk: Buffer): void {
    if (chunk.length >= this.limit) {
      this.dropped += this.held + chunk.length - this.limit;
      this.chunks = this.limit > 0 ? [Buffer.from(chunk.subarray(chunk.length - this.limit))] : [];
      this.held = this.limit;
      return;
    }
    this.chunks.push(chunk);
    this.held += chunk.length;
    while (this.held - this.chunks[0]!.length >= this.limit) {
      const first = this.chunks.shift()!;
      this.held -= first.length;
      this.dropped += first.length;
    }
  }

  /** Counts bytes that never reached this tail (skipped upstream). */
  skip(bytes: number): void {
    this.dropped += bytes;
  }

  /** The held bytes and how many came before them. */
  snapshot(): { bytes: Buffer; dropped: number } {
    const all = Buffer.concat(this.chunks);
    const cut = Math.max(0, all.length - this.limit);
    return { bytes: all.subarray(cut), dropped: this.dropped + cut };
  }

  /** The tail as UTF-8, after a `[spe: N earlier bytes truncated]` line when bytes were dropped. */
  toString(): string {
    const { bytes, dropped } = this.snapshot();
    let start = 0;
    // Start on a character boundary, not with U+FFFD, when the cut fell inside a character.
    if (dropped > 0) while (start < bytes.length && start < 3 && (bytes[start]! & 0xc0) === 0x80) start++;
    const text = bytes.subarray(start).toString("utf8");
    return dropped + start > 0 ? `[spe: ${dropped + start} earlier bytes truncated]\n${text}` : text;
  }
}

/** What a job's log stream holds, split back apart. */
export interface DecodedLog {
  stdout: string;
  stderr: string;
  /** The agent's `end` record, or null when the log does not hold one (yet). */
  end: EndRecord | null;
  /** Lines without a tag: the agent's own crash output, shown in stderr as `[spe agent] ...`. */
  untagged: number;
}

const RECORD = /^(out|err)([|+])(?: (.*))?$/s;

function parseRecord(json: string): AgentRecord | null {
  try {
    const r = JSON.parse(json) as unknown;
    return r && typeof r === "object" && typeof (r as { event?: unknown }).event === "string"
      ? (r as AgentRecord)
      : null;
  } catch {
    return null;
  }
}

function isEnd(r: AgentRecord): r is EndRecord {
  return (
    r.event === "end" &&
    typeof r.outcome === "string" &&
    (r.exitCode === null || typeof r.exitCode === "number") &&
    typeof r.startedAt === "string" &&
    typeof r.finishedAt === "string"
  );
}

/**
 * Splits the log lines of one task (in order) into the job's stdout and stderr, keeping the last
 * `limit` bytes of each, and finds the agent's `end` record.
 */
export function decodeLog(lines: Iterable<string>, limit = LOG_TAIL_BYTES): DecodedLog {
  const tails = { stdout: new ByteTail(limit), stderr: new ByteTail(limit) };
  let end: EndRecord | null = null;
  let untagged = 0;
  for (const raw of lines) {
    const line = raw.endsWith("\n") ? raw.slice(0, -1) : raw;
    const m = RECORD.exec(line);
    if (m) {
      const tail = m[1] === TAGS.stdout ? tails.stdout : tails.stderr;
      const text = m[3] ?? "";
      tail.push(Buffer.from(m[2] === "|" ? `${text}\n` : text, "utf8"));
      continue;
    }
    if (line.startsWith(`${TAGS.agent}| `)) {
      const record = parseRecord(line.slice(TAGS.agent.length + 2));
      if (record?.event === "skipped" && (record.stream === "stdout" || record.stream === "stderr")) {
        if (Number.isSafeInteger(record.bytes) && record.bytes > 0) tails[record.stream].skip(record.bytes);
      } else if (record && isEnd(record)) end = record;
      continue;
    }
    if (line.length === 0) continue;
    untagged++;
    tails.stderr.push(Buffer.from(`[spe agent] ${line}\n`, "utf8"));
  }
  return { stdout: tails.stdout.toString(), stderr: tails.stderr.toString(), end, untagged };
}

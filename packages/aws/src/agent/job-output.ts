/**
 * Forwards a job's stdout and stderr to the agent's log as tagged records (see framing.ts), with a bound:
 * the first FORWARD_LIMIT_BYTES of each stream go to the log as they come (an operator can follow a
 * running job), the rest is held as a 1 MiB tail in memory and written when the job ends, after a
 * `skipped` record. A job printing gigabytes thus costs the log (and the controller reading it back when
 * the task stops) a few MiB, and the controller still gets the end of the output, where errors are.
 */
import { agentLine, ByteTail, type JobStream, LOG_TAIL_BYTES, StreamFramer } from "./framing";

/** Bytes of each stream forwarded live before only the tail is kept. */
export const FORWARD_LIMIT_BYTES = 4 * 1024 * 1024;

class StreamSink {
  private forwarded = 0;
  private readonly framer: StreamFramer;
  private readonly tail: ByteTail;

  constructor(
    private readonly stream: JobStream,
    private readonly emit: (line: string) => void,
    private readonly forwardLimit: number,
    tailLimit: number,
  ) {
    this.framer = new StreamFramer(stream, emit);
    this.tail = new ByteTail(tailLimit);
  }

  push(chunk: Buffer): void {
    const room = this.forwardLimit - this.forwarded;
    if (room > 0) {
      const live = chunk.subarray(0, room);
      this.framer.push(live);
      this.forwarded += live.length;
      chunk = chunk.subarray(live.length);
    }
    if (chunk.length > 0) this.tail.push(Buffer.from(chunk));
  }

  end(): void {
    this.framer.end();
    const { bytes, dropped } = this.tail.snapshot();
    if (dropped > 0) this.emit(agentLine({ event: "skipped", stream: this.stream, bytes: dropped }));
    if (bytes.length === 0) return;
    const framer = new StreamFramer(this.stream, this.emit);
    framer.push(bytes);
    framer.end();
  }
}

/** The two sinks of one job. `end()` once the job's pipes have closed. */
export class JobOutput {
  readonly stdout: StreamSink;
  readonly stderr: StreamSink;

  constructor(emit: (line: string) => void, forwardLimit = FORWARD_LIMIT_BYTES, tailLimit = LOG_TAIL_BYTES) {
    this.stdout = new StreamSink("stdout", emit, forwardLimit, tailLimit);
    this.stderr = new StreamSink("stderr", emit, forwardLimit, tailLimit);
  }

  end(): void {
    this.stdout.end();
    this.stderr.end();
  }
}

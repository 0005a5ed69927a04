/**
 * Keeps the last N bytes of a stream. A job may print gigabytes; the controller holds at most N bytes
 * plus one pipe chunk per stream, and the record shows the end, where the error usually is.
 */

export class TailBuffer {
  private chunks: Buffer[] = [];
  private held = 0;
  private dropped = 0;
  private lastByte: number | undefined;

  constructor(readonly limit: number) {}

  push(chunk: Buffer): void {
    if (chunk.length > 0) this.lastByte = chunk[chunk.length - 1];
    if (chunk.length >= this.limit) {
      this.dropped += this.held + chunk.length - this.limit;
      // Copy: a view would keep the whole (possibly huge) chunk alive.
      this.chunks = this.limit > 0 ? [Buffer.from(chunk.subarray(chunk.length - this.limit))] : [];
      this.held = this.limit;
      return;
    }
    this.chunks.push(chunk);
    this.held += chunk.length;
    for (let first = this.chunks[0]; first && this.held - first.length >= this.limit; first = this.chunks[0]) {
      this.chunks.shift();
      this.held -= first.length;
      this.dropped += first.length;
    }
  }

  /** Appends a line of our own, starting it on a fresh line. */
  note(line: string): void {
    const fresh = this.lastByte === undefined || this.lastByte === 0x0a;
    this.push(Buffer.from(`${fresh ? "" : "\n"}${line}\n`));
  }

  /** The last `limit` bytes as UTF-8, after a `[spe: N earlier bytes truncated]` line if bytes were lost. */
  toString(): string {
    const all = Buffer.concat(this.chunks);
    const cut = Math.max(0, all.length - this.limit);
    const truncated = this.dropped + cut > 0;
    let start = cut;
    // Start on a character boundary (a UTF-8 sequence has at most 3 continuation bytes), not with U+FFFD.
    if (truncated) while (start < all.length && start - cut < 3 && (all[start]! & 0xc0) === 0x80) start++;
    const text = all.subarray(start).toString("utf8");
    return truncated ? `[spe: ${this.dropped + start} earlier bytes truncated]\n${text}` : text;
  }
}

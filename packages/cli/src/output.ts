/** What a command prints: the raw JSON with `--json` (for scripts), else text for people. */
import type { Io } from "./io";

export class Output {
  constructor(
    private readonly io: Io,
    readonly json: boolean,
  ) {}

  /** Prints `data` as JSON, or as `render(data)`. */
  result<T>(data: T, render: (data: T) => string): void {
    this.io.stdout(`${this.json ? JSON.stringify(data, null, 2) : render(data)}\n`);
  }

  /** A remark for people (hints, next steps) on stderr, so stdout stays clean for pipes; silent with --json. */
  note(text: string): void {
    if (!this.json) this.io.stderr(`${text}\n`);
  }
}

/**
 * Collects a file's findings with bounded memory: each rule keeps at most `max` findings and counts the
 * rest, so a 1 GB table of small counts costs a few hundred findings, not millions. The list handed back
 * holds the `max` most severe findings in file order, then one summary finding per rule and severity that
 * says how many more there are (so the verdict still reflects every finding).
 */
import { type Finding, type Rule, rank, type Severity } from "./types";

interface Held extends Finding {
  row: number;
  col: number;
  seq: number;
}

/** @internal */
export class FindingCollector {
  readonly #max: number;
  readonly #held = new Map<Rule, Held[]>();
  /** Omitted findings per rule: [review, fail]. */
  readonly #omitted = new Map<Rule, [number, number]>();
  #seq = 0;
  #worst: Severity = "pass";

  constructor(max: number) {
    this.#max = Math.max(1, Math.floor(max));
  }

  /** The worst severity added so far. */
  get worst(): Severity {
    return this.#worst;
  }

  /**
   * Adds a finding; `row` and `col` (0 for none) order it in the list. `message` may be a function, called
   * only when the finding is kept (the common case past the cap is a dropped finding).
   */
  add(
    rule: Rule,
    severity: "review" | "fail",
    location: string | (() => string),
    message: string | (() => string),
    row = 0,
    col = 0,
  ): void {
    if (rank(severity) > rank(this.#worst)) this.#worst = severity;
    let list = this.#held.get(rule);
    if (list === undefined) {
      list = [];
      this.#held.set(rule, list);
    }
    if (list.length >= this.#max) {
      this.omit(rule, severity, 1);
      return;
    }
    list.push({
      rule,
      severity,
      location: typeof location === "string" ? location : location(),
      message: typeof message === "string" ? message : message(),
      row,
      col,
      seq: this.#seq++,
    });
  }

  /** Counts `n` findings of `rule` that are not listed. */
  omit(rule: Rule, severity: "review" | "fail", n: number): void {
    if (n <= 0) return;
    if (rank(severity) > rank(this.#worst)) this.#worst = severity;
    let counts = this.#omitted.get(rule);
    if (counts === undefined) {
      counts = [0, 0];
      this.#omitted.set(rule, counts);
    }
    counts[severity === "fail" ? 1 : 0] += n;
  }

  /** The findings to report: the most severe first, each severity in file order, then the summaries. */
  result(): Finding[] {
    const all = [...this.#held.values()].flat();
    all.sort((a, b) => rank(b.severity) - rank(a.severity) || a.row - b.row || a.col - b.col || a.seq - b.seq);
    const omitted = new Map<string, number>();
    const count = (rule: Rule, severity: "review" | "fail", n: number) => {
      const key = `${severity} ${rule}`;
      if (n > 0) omitted.set(key, (omitted.get(key) ?? 0) + n);
    };
    for (const [rule, [review, fail]] of this.#omitted) {
      count(rule, "fail", fail);
      count(rule, "review", review);
    }
    for (const f of all.slice(this.#max)) count(f.rule as Rule, f.severity, 1);
    const out: Finding[] = all
      .slice(0, this.#max)
      .map(({ rule, severity, location, message }) => ({ rule, severity, location, message }));
    for (const [key, n] of [...omitted].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      const [severity, rule] = key.split(" ") as ["review" | "fail", Rule];
      out.push({
        rule,
        severity,
        location: `${n} more location${n === 1 ? "" : "s"}`,
        message: `${n} more ${rule} finding${n === 1 ? " is" : "s are"} not listed (the list stops at ${this.#max}): fix the ones listed the same way and check again`,
      });
    }
    return out;
  }
}

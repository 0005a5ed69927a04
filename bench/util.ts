/** Output helpers shared by the benchmarks: one JSON object per figure on stdout, progress on stderr. */
import { readFileSync } from "node:fs";

export type Figure = Record<string, string | number | boolean | null | number[]>;

const figures: Figure[] = [];

export function emit(figure: Figure): void {
  figures.push(figure);
  process.stdout.write(`${JSON.stringify(figure)}\n`);
}

export function emitted(): readonly Figure[] {
  return figures;
}

export function progress(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}

/** Nearest-rank percentile of an ascending array (p in 0..100). */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

export function median(xs: number[]): number {
  return percentile(Float64Array.from(xs).sort(), 50);
}

/** Rounds to `d` significant decimals, keeping JSON lines short. */
export function round(x: number, d = 3): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** d;
  return Math.round(x * f) / f;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * This process's peak RSS in KiB: VmHWM, which starts afresh at exec. Not `resourceUsage().maxRSS`: Linux
 * keeps ru_maxrss across fork and exec, so a child would report the parent's size at the time it was
 * forked .
 */
export function peakRssKb(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
    if (m !== null) return Number(m[1]);
  } catch {
    // not Linux: fall back to what the OS reports
  }
  return process.resourceUsage().maxRSS;
}

/** Output helpers shared by the benchmarks: one JSON object per figure on stdout, progress on stderr. */
import { fork } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

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

/**
 * Runs `script` (a bench module's URL) again as a child with `--rss-child <mb>`, so its peak RSS is its own,
 * and returns the one JSON line it prints. tsx is inherited through execArgv (--import tsx).
 */
export async function inChild<T>(script: string, mb: number, label: string): Promise<T> {
  const child = fork(fileURLToPath(script), ["--rss-child", String(mb)], {
    stdio: ["ignore", "pipe", "inherit", "ipc"],
  });
  let out = "";
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString("utf8");
  });
  const [code] = await once(child, "close"); // after stdout has been read to its end
  if (code !== 0) throw new Error(`${label} RSS child exited with ${code}`);
  return JSON.parse(out.trim()) as T;
}

export interface RssReport {
  baselineRssMb: number;
  maxRssMb: number;
  seconds: number;
}

/**
 * The peak-RSS figure of a streaming path: `measure(mb)` runs it in a child over `smallMb` and `mb`;
 * flat memory means both stay under the target.
 */
export async function rssFigure(
  bench: string,
  what: string,
  measure: (mb: number) => Promise<RssReport>,
  smallMb: number,
  mb: number,
  targetMb: number,
): Promise<void> {
  const reports: RssReport[] = [];
  for (const size of [...new Set([smallMb, mb])]) {
    progress(`${bench}: peak RSS of ${what} over ${size} MB (child process)`);
    reports.push(await measure(size));
  }
  const small = reports[0] as RssReport;
  const full = reports.at(-1) as RssReport;
  emit({
    bench,
    figure: "peak_rss",
    small_mb: smallMb,
    full_mb: mb,
    small_max_rss_mb: small.maxRssMb,
    full_max_rss_mb: full.maxRssMb,
    baseline_rss_mb: full.baselineRssMb,
    growth_mb: round(full.maxRssMb - small.maxRssMb, 1),
    full_mb_per_s: round(mb / full.seconds, 1),
    target: `max_rss_mb < ${targetMb} at both sizes`,
    met: small.maxRssMb < targetMb && full.maxRssMb < targetMb,
  });
}

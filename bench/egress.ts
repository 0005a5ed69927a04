/**
 * Egress check figures over a synthetic aggregate table generated in memory (no disk):
 * `region,sex,age_group,icd10,year,n,mean_age,sd_age,rate_per_100k`, ~75-byte rows, with UTF-8 region
 * names (some of several words), a count column in multiples of 5 with an occasional `<10` or small
 * count, and statistics rounded to one decimal. A 64 MiB pool of rows (800,000 rows drawn at random) is
 * cut into 64 KiB pieces, as a file stream yields them, and cycled up to the size wanted.
 *
 * (a) throughput: `checkFile` with every rule on (roundTo 5, zeros review, two identifier column names,
 *     a `knownIdentifier` backed by a real IdentifierSet of 400,000 staged values) over
 *     `SPE_BENCH_EGRESS_MB` (default 1024) MB, beside a plain streaming read that only splits the same
 *     bytes into line strings (TextDecoder + split, as a line reader does), in back-to-back pairs over
 *     three rounds: MB/s (target >= 100) and the median ratio to the line splitter (target >= 0.3).
 *     Diagnostics: a `memchr` line count over the same bytes (no strings) and the checker on an
 *     all-distinct worst case (every statistic and count distinct, so the identifier-set cache misses).
 * (b) peak RSS of the checker in a child process at 10 MB and at the full size: flat, target < 150 MB.
 *
 * `node --import tsx bench/egress.ts --rss-child MB` is that child: it prints
 * `{ baselineRssMb, maxRssMb, seconds, verdict }` on stdout.
 */
import { fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { checkFile } from "../packages/core/src/egress/checks";
import { IdentifierSet, Pseudonymiser } from "../packages/core/src/staging";
import { emit, median, progress, round } from "./util";

const MB = Number(process.env.SPE_BENCH_EGRESS_MB ?? 1024);
const SMALL_MB = Math.min(10, MB);
const ROUNDS = 3;
const RATIO_TARGET = 0.3;
const MBS_TARGET = 100;
const RSS_TARGET_MB = 150;
const MiB = 1024 * 1024;
const PIECE = 64 * 1024;

const now = () => performance.now();

// ---- the synthetic table --------------------------------------------------------------------------------

const HEADER = "region,sex,age_group,icd10,year,n,mean_age,sd_age,rate_per_100k\n";
const REGIONS = [
  "Norte",
  "Centro",
  "Área Metropolitana de Lisboa",
  "Alentejo",
  "Algarve",
  "Região Autónoma dos Açores",
  "Região Autónoma da Madeira",
];
const AGE_GROUPS = ["0-9", "10-19", "20-29", "30-39", "40-49", "50-59", "60-69", "70-79", "80+"];
const ICD10 = Array.from({ length: 40 }, (_, i) => `C${String(i * 2 + 10).padStart(2, "0")}.${i % 10}`);

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `mb` MiB of rows (no header). `distinct`: the worst case for the identifier-set cache, where counts and
 * statistics are drawn from millions of values instead of the few thousand an aggregate table repeats.
 */
function pool(mb: number, distinct = false): Buffer {
  const next = rng(42);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)]!;
  const rows: string[] = [];
  let bytes = 0;
  while (bytes < mb * MiB) {
    const r = next();
    // Mostly counts in multiples of 5; now and then a suppressed or a small count, as real outputs have.
    const n = r < 0.002 ? "<10" : r < 0.003 ? String(1 + Math.floor(next() * 9)) : String(5 * (2 + Math.floor(next() * 1000)));
    const scale = distinct ? 1000 : 10;
    const mean = (20 + Math.floor(next() * 70 * scale) / scale).toFixed(distinct ? 3 : 1);
    const sd = (5 + Math.floor(next() * 20 * scale) / scale).toFixed(distinct ? 3 : 1);
    const rate = (Math.floor(next() * 10000 * (distinct ? 100 : 1)) / (distinct ? 1000 : 10)).toFixed(distinct ? 3 : 1);
    const row = `${pick(REGIONS)},${next() < 0.5 ? "F" : "M"},${pick(AGE_GROUPS)},${pick(ICD10)},${2015 + Math.floor(next() * 10)},${distinct ? String(10 + Math.floor(next() * 5_000_000)) : n},${mean},${sd},${rate}\n`;
    rows.push(row);
    bytes += Buffer.byteLength(row);
  }
  return Buffer.from(rows.join(""));
}

/** `mb` MiB: the header, then the pool cycled in 64 KiB pieces (views, so generating costs nothing). */
async function* table(rows: Buffer, mb: number): AsyncGenerator<Uint8Array> {
  yield Buffer.from(HEADER);
  let left = mb * MiB - HEADER.length;
  for (let at = 0; left > 0; ) {
    const n = Math.min(PIECE, rows.length - at, left);
    yield rows.subarray(at, at + n);
    left -= n;
    at += n;
    if (at === rows.length) at = 0;
  }
}

// ---- the checker and the baselines -----------------------------------------------------------------------

/** An identifier set as staging leaves it: 200,000 identifiers and their pseudonyms. */
function stagedSet(): IdentifierSet {
  const key = randomBytes(32);
  const set = new IdentifierSet(key);
  const pseudonymiser = new Pseudonymiser(randomBytes(32));
  for (let i = 0; i < 200_000; i++) {
    const id = `PT${String(1_000_000 + i)}`;
    set.add(id);
    set.add(pseudonymiser.pseudonym(id));
  }
  return set;
}

const lookups = { calls: 0 };

function policy(set: IdentifierSet) {
  return {
    minCellCount: 10,
    roundTo: 5,
    minDegreesOfFreedom: 10,
    zeros: "review" as const,
    identifierColumns: ["patient_id", "nif"],
    knownIdentifier: (v: string) => {
      lookups.calls++;
      return set.has(v);
    },
  };
}

async function check(rows: Buffer, mb: number, set: IdentifierSet) {
  return checkFile("outputs/table.csv", table(rows, mb), policy(set));
}

/** A line reader's work: decode to strings and split at line ends. */
async function splitLines(source: AsyncIterable<Uint8Array>): Promise<number> {
  const decoder = new TextDecoder();
  let carry = "";
  let lines = 0;
  for await (const piece of source) {
    const parts = (carry + decoder.decode(piece, { stream: true })).split("\n");
    carry = parts.pop()!;
    lines += parts.length;
  }
  return lines + (carry.length > 0 ? 1 : 0);
}

/** Counting line ends with memchr: no strings at all (a floor, not a comparable read). */
async function countLineEnds(source: AsyncIterable<Uint8Array>): Promise<number> {
  let lines = 0;
  for await (const piece of source) {
    const b = piece as Buffer;
    for (let i = b.indexOf(10); i >= 0; i = b.indexOf(10, i + 1)) lines++;
  }
  return lines;
}

async function rate(mb: number, run: () => Promise<unknown>): Promise<number> {
  const t0 = now();
  await run();
  return mb / ((now() - t0) / 1000);
}

// ---- (a) throughput ----------------------------------------------------------------------------------------

async function throughputFigure(): Promise<void> {
  progress("egress: building a 64 MiB pool of rows and an identifier set of 400,000 values");
  const rows = pool(Math.min(64, MB));
  const set = stagedSet();
  const warm = Math.min(MB, 32);
  await check(rows, warm, set);
  await splitLines(table(rows, warm));
  const ours: number[] = [];
  const split: number[] = [];
  let findings = 0;
  let verdict = "";
  lookups.calls = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const runOurs = async () =>
      ours.push(
        await rate(MB, async () => {
          const result = await check(rows, MB, set);
          findings = result.findings.length;
          verdict = result.verdict;
        }),
      );
    const runSplit = async () => split.push(await rate(MB, () => splitLines(table(rows, MB))));
    if (r % 2 === 0) {
      await runOurs();
      await runSplit();
    } else {
      await runSplit();
      await runOurs();
    }
    progress(`egress: round ${r + 1}: checker ${ours.at(-1)!.toFixed(0)} MB/s, line splitter ${split.at(-1)!.toFixed(0)} MB/s`);
  }
  const cells = (MB * MiB * ROUNDS * 9) / (rows.length / (rows.toString("latin1").split("\n").length - 1));
  const ratios = ours.map((o, i) => o / split[i]!);
  const ratio = median(ratios);
  const mbs = median(ours);
  emit({
    bench: "egress",
    figure: "throughput",
    mb: MB,
    checker_mb_per_s: round(mbs, 1),
    line_split_mb_per_s: round(median(split), 1),
    ratio: round(ratio, 3),
    ratios: ratios.map((x) => round(x, 3)),
    identifier_lookups_per_cell: round(lookups.calls / cells, 5),
    findings,
    verdict,
    target: `mb_per_s >= ${MBS_TARGET} and ratio >= ${RATIO_TARGET}`,
    met: mbs >= MBS_TARGET && ratio >= RATIO_TARGET,
  });

  progress("egress: diagnostics (memchr line count; all-distinct worst case)");
  const memchr = await rate(MB, () => countLineEnds(table(rows, MB)));
  const worstMb = Math.max(1, Math.round(MB / 8));
  const distinctRows = pool(Math.min(64, worstMb), true);
  lookups.calls = 0;
  const worstCase = await rate(worstMb, () => check(distinctRows, worstMb, set));
  emit({
    bench: "egress",
    figure: "throughput_breakdown",
    mb: MB,
    memchr_line_count_mb_per_s: round(memchr, 0),
    all_distinct_mb: worstMb,
    all_distinct_checker_mb_per_s: round(worstCase, 1),
    target: "diagnostic",
    met: true,
  });
}

// ---- (b) peak RSS ------------------------------------------------------------------------------------------

interface RssReport {
  baselineRssMb: number;
  maxRssMb: number;
  seconds: number;
  verdict: string;
}

async function rssInChild(mb: number): Promise<RssReport> {
  const child = fork(fileURLToPath(import.meta.url), ["--rss-child", String(mb)], {
    stdio: ["ignore", "pipe", "inherit", "ipc"],
  });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => {
    out += d.toString("utf8");
  });
  const [code] = await once(child, "close");
  if (code !== 0) throw new Error(`egress RSS child exited with ${code}`);
  return JSON.parse(out.trim()) as RssReport;
}

async function rssFigure(): Promise<void> {
  const sizes = [...new Set([SMALL_MB, MB])];
  const reports: RssReport[] = [];
  for (const mb of sizes) {
    progress(`egress: peak RSS of checkFile over ${mb} MB (child process)`);
    reports.push(await rssInChild(mb));
  }
  const small = reports[0]!;
  const full = reports.at(-1)!;
  emit({
    bench: "egress",
    figure: "peak_rss",
    small_mb: SMALL_MB,
    full_mb: MB,
    small_max_rss_mb: small.maxRssMb,
    full_max_rss_mb: full.maxRssMb,
    baseline_rss_mb: full.baselineRssMb,
    growth_mb: round(full.maxRssMb - small.maxRssMb, 1),
    full_mb_per_s: round(MB / full.seconds, 1),
    target: `max_rss_mb < ${RSS_TARGET_MB} at both sizes`,
    met: small.maxRssMb < RSS_TARGET_MB && full.maxRssMb < RSS_TARGET_MB,
  });
}

/** The child: one check over `mb` MB (a 4 MiB pool, so that the input is not what is measured). */
async function rssChild(mb: number): Promise<void> {
  const rows = pool(Math.min(4, mb));
  const set = stagedSet();
  const baseline = process.memoryUsage().rss;
  const t0 = now();
  const result = await check(rows, mb, set);
  const report: RssReport = {
    baselineRssMb: round(baseline / MiB, 1),
    maxRssMb: round(process.resourceUsage().maxRSS / 1024, 1),
    seconds: round((now() - t0) / 1000, 2),
    verdict: result.verdict,
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

export async function runEgress(): Promise<void> {
  progress(`egress: ${MB} MB inputs (SPE_BENCH_EGRESS_MB)`);
  await throughputFigure();
  await rssFigure();
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === "--rss-child") {
  await rssChild(Number(process.argv[3]));
}

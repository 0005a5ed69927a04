import { randomBytes } from "node:crypto";
import { createInterface } from "node:readline";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { checkFile } from "../packages/core/src/egress/checks";
import { CsvReader } from "../packages/core/src/egress/checks/csv-reader";
import { mulberry32 as rng } from "../packages/core/src/prng";
import { IdentifierSet, Pseudonymiser } from "../packages/core/src/staging";
import { emit, inChild, median, peakRssKb, progress, type RssReport, round, rssFigure } from "./util";

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

/**
 * `mb` MiB of rows (no header). `distinct`: the worst case for the identifier-set cache, where counts and
 * statistics are drawn from millions of values instead of the few thousand an aggregate table repeats.
 */
function pool(mb: number, distinct = false): { rows: Buffer; count: number } {
  const next = rng(42);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)]!;
  // Written row by row into one buffer: a string per row and a join would cost several times the pool.
  const out = Buffer.alloc(mb * MiB);
  let bytes = 0;
  let count = 0;
  const d = distinct ? 3 : 1;
  const scale = distinct ? 1000 : 10;
  for (;;) {
    const r = next();
    // Mostly counts in multiples of 5; now and then a suppressed or a small count, as real outputs have.
    const n = distinct
      ? String(10 + Math.floor(next() * 5_000_000))
      : r < 0.002
        ? "<10"
        : r < 0.003
          ? String(1 + Math.floor(next() * 9))
          : String(5 * (2 + Math.floor(next() * 1000)));
    const mean = (20 + Math.floor(next() * 70 * scale) / scale).toFixed(d);
    const sd = (5 + Math.floor(next() * 20 * scale) / scale).toFixed(d);
    const rate = (Math.floor(next() * 1000 * scale) / scale).toFixed(d);
    const row = `${pick(REGIONS)},${next() < 0.5 ? "F" : "M"},${pick(AGE_GROUPS)},${pick(ICD10)},${2015 + Math.floor(next() * 10)},${n},${mean},${sd},${rate}\n`;
    const length = Buffer.byteLength(row);
    if (bytes + length > out.length) break;
    out.write(row, bytes);
    bytes += length;
    count++;
  }
  return { rows: out.subarray(0, bytes), count };
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
  const pseudonymiser = new Pseudonymiser(randomBytes(32), { cacheEntries: 0 }); // every value is new anyway
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

async function check(rows: Buffer, mb: number, set: IdentifierSet | null) {
  const p = policy(set ?? new IdentifierSet(randomBytes(32)));
  if (set === null) delete (p as { knownIdentifier?: unknown }).knownIdentifier;
  return checkFile("outputs/table.csv", table(rows, mb), p);
}

/** The baseline: node's streaming line reader over the same pieces. */
async function readLines(source: AsyncIterable<Uint8Array>): Promise<number> {
  let lines = 0;
  for await (const _ of createInterface({ input: Readable.from(source), crlfDelay: Number.POSITIVE_INFINITY })) lines++;
  return lines;
}

/** The CSV tokenizer alone, fields handed to a sink that does nothing. */
async function tokenize(source: AsyncIterable<Uint8Array>): Promise<number> {
  let fields = 0;
  const reader = new CsvReader(
    {
      field: () => {
        fields++;
      },
      longPiece: () => {},
      endRow: () => {},
    },
    0x2c,
  );
  for await (const piece of source) reader.push(piece);
  reader.end();
  return fields;
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
  const { rows, count } = pool(Math.min(64, MB));
  const set = stagedSet();
  const warm = Math.min(MB, 32);
  await check(rows, warm, set);
  await splitLines(table(rows, warm));
  await readLines(table(rows, warm));
  const ours: number[] = [];
  const readline: number[] = [];
  const split: number[] = [];
  let findings = 0;
  let verdict = "";
  lookups.calls = 0;
  const runOurs = async () =>
    ours.push(
      await rate(MB, async () => {
        const result = await check(rows, MB, set);
        findings = result.findings.length;
        verdict = result.verdict;
      }),
    );
  const runReadline = async () => readline.push(await rate(MB, () => readLines(table(rows, MB))));
  for (let r = 0; r < ROUNDS; r++) {
    // Alternate which goes first, so neither always inherits the other's garbage.
    if (r % 2 === 0) {
      await runOurs();
      await runReadline();
    } else {
      await runReadline();
      await runOurs();
    }
    split.push(await rate(MB, () => splitLines(table(rows, MB))));
    progress(
      `egress: round ${r + 1}: checker ${ours.at(-1)!.toFixed(0)} MB/s, readline ${readline.at(-1)!.toFixed(0)} MB/s, decode+split ${split.at(-1)!.toFixed(0)} MB/s`,
    );
  }
  const cells = ((MB * MiB * ROUNDS) / (rows.length / count)) * 9;
  const ratios = ours.map((o, i) => o / readline[i]!);
  const ratio = median(ratios);
  const mbs = median(ours);
  emit({
    bench: "egress",
    figure: "throughput",
    mb: MB,
    checker_mb_per_s: round(mbs, 1),
    readline_mb_per_s: round(median(readline), 1),
    ratio: round(ratio, 3),
    ratios: ratios.map((x) => round(x, 3)),
    decode_split_mb_per_s: round(median(split), 1),
    ratio_vs_decode_split: round(median(ours.map((o, i) => o / split[i]!)), 3),
    identifier_set_lookups_per_cell: round(lookups.calls / cells, 5),
    findings,
    verdict,
    target: `mb_per_s >= ${MBS_TARGET} and ratio >= ${RATIO_TARGET} (vs readline)`,
    met: mbs >= MBS_TARGET && ratio >= RATIO_TARGET,
  });

  const quarter = Math.max(1, Math.round(MB / 4));
  progress(`egress: diagnostics over ${quarter} MB`);
  const memchr = await rate(quarter, () => countLineEnds(table(rows, quarter)));
  const tokenizer = await rate(quarter, () => tokenize(table(rows, quarter)));
  const withoutSet = await rate(quarter, () => check(rows, quarter, null));
  const worstMb = Math.max(1, Math.round(MB / 8));
  const distinctRows = pool(Math.min(64, worstMb), true).rows;
  const worstCase = await rate(worstMb, () => check(distinctRows, worstMb, set));
  emit({
    bench: "egress",
    figure: "throughput_breakdown",
    mb: quarter,
    memchr_line_count_mb_per_s: round(memchr, 0),
    tokenizer_only_mb_per_s: round(tokenizer, 0),
    without_identifier_set_mb_per_s: round(withoutSet, 1),
    all_distinct_mb: worstMb,
    all_distinct_checker_mb_per_s: round(worstCase, 1),
    target: "diagnostic",
    met: true,
  });
}

// ---- (b) peak RSS ------------------------------------------------------------------------------------------

interface EgressRssReport extends RssReport {
  verdict: string;
}

const rssInChild = (mb: number) => inChild<EgressRssReport>(import.meta.url, mb, "egress");

const peakRss = () => rssFigure("egress", "checkFile", rssInChild, SMALL_MB, MB, RSS_TARGET_MB);

/** The child: one check over `mb` MB (a 4 MiB pool, so that the input is not what is measured). */
async function rssChild(mb: number): Promise<void> {
  const { rows } = pool(Math.min(4, mb));
  const set = stagedSet();
  const baseline = process.memoryUsage().rss;
  const t0 = now();
  const result = await check(rows, mb, set);
  const report: EgressRssReport = {
    baselineRssMb: round(baseline / MiB, 1),
    maxRssMb: round(peakRssKb() / 1024, 1),
    seconds: round((now() - t0) / 1000, 2),
    verdict: result.verdict,
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

export async function runEgress(): Promise<void> {
  progress(`egress: ${MB} MB inputs (SPE_BENCH_EGRESS_MB)`);
  await throughputFigure();
  await peakRss();
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === "--rss-child") {
  await rssChild(Number(process.argv[3]));
}

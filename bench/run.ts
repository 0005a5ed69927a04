/**
 * `npm run bench [-- audit|api|staging|workspace|egress|functions]`: runs the audit figures, the API figures, then the
 * staging figures (SPE_BENCH_STAGING_MB shrinks the staging inputs from their default 1024 MB), the workspace
 * figures and the egress check figures (SPE_BENCH_EGRESS_MB shrinks their 1024 MB input). One JSON object per figure
 * on stdout; progress and a short summary on stderr. Targets are printed beside each figure, as information
 * (no pass/fail exit code): the machine is shared and noisy, so each figure comes with a baseline measured
 * in the same run and the ratio between them.
 */
import { runApi } from "./api";
import { runAudit } from "./audit";
import { runEgress } from "./egress";
import { runFunctions } from "./functions";
import { runStaging } from "./staging";
import { emitted, type Figure, progress } from "./util";
import { runWorkspace } from "./workspace";

const SUITES = {
  audit: runAudit,
  api: runApi,
  staging: runStaging,
  workspace: runWorkspace,
  egress: runEgress,
  functions: runFunctions,
} as const;
type Suite = keyof typeof SUITES;

const args = process.argv.slice(2);
const unknown = args.filter((a) => !(a in SUITES));
if (unknown.length > 0) {
  process.stderr.write(
    `usage: npm run bench [-- audit|api|staging|workspace|egress|functions ...] (unknown: ${unknown.join(", ")})\n`,
  );
  process.exit(2);
}
const selected: Suite[] =
  args.length > 0
    ? (Object.keys(SUITES) as Suite[]).filter((s) => args.includes(s))
    : ["audit", "api", "staging", "workspace", "egress", "functions"];

function summaryLine(f: Figure): string {
  const met = f.met === true ? "met" : "NOT met";
  if (f.bench === "workspace" && f.figure === "launch_to_ready") {
    return `workspace launch-to-ready with ${f.staged_mb} MB staged: ${f.ready_ms} ms (${f.staged_mb_per_s} MB/s; copying the file ${f.copy_ms} ms, x${f.ratio_vs_copy}) -- ${f.target}: ${met}`;
  }
  if (f.bench === "workspace" && f.figure === "egress_request") {
    return `egress request of ${f.files} CSVs (${f.mb} MB) to pending_review: ${f.to_pending_review_ms} ms (verdict ${f.verdict}) -- ${f.target}: ${met}`;
  }
  if (f.bench === "workspace") {
    return `workspace no-op job round trip: p50 ${f.p50_ms} ms, p99 ${f.p99_ms} ms (spawn true ${f.spawn_true_p50_ms} ms, bwrap true ${f.bwrap_true_p50_ms} ms, x${f.ratio_vs_bwrap}) -- ${f.target}: ${met}`;
  }
  if (f.bench === "api") {
    return `api ${f.route}: p50 ${f.p50_ms} ms (bare ${f.bare_p50_ms}, x${f.overhead_p50}), p99 ${f.p99_ms} ms, ${f.rps} req/s (bare ${f.bare_rps}) -- ${f.target}: ${met}`;
  }
  if (f.bench === "staging") return stagingLine(f, met);
  if (f.bench === "functions") {
    return `function ${f.function}: ${f.bundle_kib} KiB (${f.gzip_kib} KiB gzipped), cold import ${f.cold_import_ms} ms (baseline DynamoDB-only handler ${f.baseline_bundle_kib} KiB, ${f.baseline_import_ms} ms, x${f.ratio_vs_baseline}) -- ${f.target}: ${met}`;
  }
  if (f.bench === "egress") return egressLine(f, met);
  if (f.figure === "verify") {
    return `audit verify: ${f.verify_records_per_s} records/s over ${f.records} (raw SHA-256 ${f.raw_sha256_records_per_s}/s, x${f.ratio}) -- ${f.target}: ${met}`;
  }
  if (f.figure === "verify_cost_breakdown") {
    return `audit verify cost: SQLite scan alone ${f.sqlite_scan_only_records_per_s} rows/s, verify over in-memory records ${f.verify_in_memory_records_per_s}/s (x${f.ratio_in_memory_vs_raw} of raw SHA-256 ${f.raw_sha256_records_per_s}/s), one-shot crypto.hash ${f.crypto_hash_oneshot_records_per_s}/s`;
  }
  if (f.figure === "append_cost_breakdown") {
    return `audit append cost: ${f.commit_us} us/commit, ${f.commit_nosync_us} us without fsync (fsync share ${f.fsync_share}), fsync ${f.fsync_us} us, head query ${f.head_query_us} us, chain record ${f.chain_record_us} us`;
  }
  return `audit ${f.figure}: ${f.durable_changes_per_s} durable changes/s (fsync ${f.fsync_per_s}/s, x${f.ratio_vs_fsync}) -- ${f.target}: ${met}`;
}

function stagingLine(f: Figure, met: string): string {
  switch (f.figure) {
    case "encrypt":
      return `staging encrypt: ${f.encrypt_mb_per_s} MB/s over ${f.mb} MB (raw AES-256-GCM ${f.raw_aes_gcm_mb_per_s} MB/s, x${f.ratio}) -- ${f.target}: ${met}`;
    case "pseudonymise_distinct":
    case "pseudonymise_repeated":
      return `staging pseudonymise + encrypt (${f.identifiers}): ${f.mb_per_s} MB/s, ${f.rows_per_s} rows/s over ${f.mb} MB -- ${f.target}: ${met}`;
    case "pseudonymise_cost_breakdown":
      return `staging cost: with identifier set ${f.with_identifier_set_mb_per_s} MB/s, scan alone ${f.scan_only_mb_per_s} MB/s, HMAC ${f.pseudonym_hmac_us} us (cache hit ${f.pseudonym_cache_hit_us} us, node createHmac ${f.node_create_hmac_us} us), identifier set add ${f.identifier_set_add_us} us (repeated ${f.identifier_set_add_repeated_us} us)`;
    default:
      return `staging peak RSS: ${f.small_max_rss_mb} MB at ${f.small_mb} MB, ${f.full_max_rss_mb} MB at ${f.full_mb} MB (baseline ${f.baseline_rss_mb} MB) -- ${f.target}: ${met}`;
  }
}

function egressLine(f: Figure, met: string): string {
  switch (f.figure) {
    case "throughput":
      return `egress checks: ${f.checker_mb_per_s} MB/s over ${f.mb} MB (node:readline ${f.readline_mb_per_s} MB/s, x${f.ratio}; decode+split ${f.decode_split_mb_per_s} MB/s, x${f.ratio_vs_decode_split}) -- ${f.target}: ${met}`;
    case "throughput_breakdown":
      return `egress cost: memchr line count ${f.memchr_line_count_mb_per_s} MB/s, tokenizer alone ${f.tokenizer_only_mb_per_s} MB/s, checks without identifier set ${f.without_identifier_set_mb_per_s} MB/s, all-distinct values ${f.all_distinct_checker_mb_per_s} MB/s`;
    default:
      return `egress peak RSS: ${f.small_max_rss_mb} MB at ${f.small_mb} MB, ${f.full_max_rss_mb} MB at ${f.full_mb} MB (baseline ${f.baseline_rss_mb} MB) -- ${f.target}: ${met}`;
  }
}

const t0 = performance.now();
let failed = false;
for (const s of selected) {
  try {
    await SUITES[s]();
  } catch (err) {
    failed = true;
    progress(`${s} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  }
}
const lines = emitted().map(summaryLine);
process.stderr.write(
  `\n=== bench summary (${((performance.now() - t0) / 1000).toFixed(0)} s) ===\n${lines.map((l) => `  ${l}`).join("\n")}\n`,
);
process.exit(failed ? 1 : 0);

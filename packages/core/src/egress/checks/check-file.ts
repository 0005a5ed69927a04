/**
 * `checkFile`: the automated egress checks of one output file (shared/docs/egress-checks.md), streaming
 * over its bytes. Pure: no I/O but the byte stream it is given, and it reads only what it needs (nothing
 * of a blocked type, the first bytes of an image), then closes the stream (`return()` on its iterator).
 *
 * The type is judged by name, then confirmed by content:
 * - `.csv`/`.tsv`/`.txt`/`.md`/`.json`/`.log` must be UTF-8 text without NUL bytes, checked over the whole
 *   file; otherwise the file fails with the one finding `binary_content` (kind `blocked`): rows and lines
 *   mean nothing in a binary file, so what was found before the first bad byte is dropped.
 * - `.png`, `.jpg`/`.jpeg` and `.pdf` must start with their signature (89 50 4E 47 0D 0A 1A 0A, FF D8 FF,
 *   `%PDF-`); otherwise `type_mismatch` (fail, kind `blocked`); if they do, `not_machine_checkable` (review).
 * - data formats fail with `data_format`; archives, executables, `.svg`, unknown extensions and names
 *   without one with `blocked_type`.
 * A `.csv`'s delimiter is the most frequent of `,` `;` tab in its first line (`,` on a tie); a `.tsv`'s is
 * tab. A UTF-8 BOM is skipped.
 */
import { Buffer } from "node:buffer";
import { CsvReader, detectDelimiter } from "./csv-reader";
import { extensionOf, kindByName, SIGNATURES } from "./file-type";
import { FindingCollector } from "./findings";
import { KnownValues } from "./known-values";
import { TabularCheck } from "./tabular";
import { TextCheck } from "./text";
import { TextGuard } from "./text-guard";
import type { CheckPolicy, FileCheck, FileKind } from "./types";

/** Bytes of a CSV's first line that settle its delimiter (the whole line when shorter). */
const DELIMITER_SAMPLE = 64 * 1024;
const DEFAULT_MAX_FINDINGS = 200;

/**
 * Checks one output file against the permit's egress policy.
 *
 * @param path the file's path (its extension says what it claims to be; the content must agree)
 * @param content its bytes; read at most once, and closed when done
 * @returns the verdict (the worst finding, `pass` when none), the findings and how the file was judged
 * @throws whatever reading `content` throws (an I/O error is not a verdict)
 * @example
 * const check = await checkFile("outputs/table1.csv", stream, {
 *   minCellCount: 10, minDegreesOfFreedom: 10, zeros: "review", identifierColumns: ["patient_id"],
 *   knownIdentifier: (v) => identifierSet.has(v),
 * });
 * check.verdict; // "fail"
 * check.findings[0]; // { rule: "min_cell_count", severity: "fail", location: "row 2, column n", message: "..." }
 */
export async function checkFile(
  path: string,
  content: AsyncIterable<Uint8Array>,
  policy: CheckPolicy,
): Promise<FileCheck> {
  const findings = new FindingCollector(policy.maxFindings ?? DEFAULT_MAX_FINDINGS);
  const kind = kindByName(path);
  const ext = extensionOf(path);
  const iterator = content[Symbol.asyncIterator]();
  let done = false;
  const result = (k: FileKind): FileCheck => ({ verdict: findings.worst, findings: findings.result(), kind: k });
  try {
    if (kind === "data_format") {
      findings.add(
        "data_format",
        "fail",
        "file",
        `a .${ext} file is a data format that cannot be checked and can hold row-level data: export the aggregate results as CSV`,
      );
      return result(kind);
    }
    if (kind === "blocked") {
      findings.add(
        "blocked_type",
        "fail",
        "file",
        `${ext === "" ? "a file without an extension" : `a .${ext} file`} cannot leave the environment (archives, executables, SVG and unknown types are blocked): export tables as CSV and figures as PNG or PDF`,
      );
      return result(kind);
    }
    if (kind === "image" || kind === "document") {
      const signature = SIGNATURES[ext]!;
      const head = new Uint8Array(signature.length);
      let got = 0;
      while (got < head.length) {
        const next = await iterator.next();
        if (next.done) {
          done = true;
          break;
        }
        const take = Math.min(next.value.length, head.length - got);
        head.set(next.value.subarray(0, take), got);
        got += take;
      }
      if (got < head.length || signature.some((b, i) => head[i] !== b)) {
        findings.add(
          "type_mismatch",
          "fail",
          "file",
          `the file is named .${ext} but does not start as a ${ext === "pdf" ? "PDF" : ext.toUpperCase()} file does: give it the name of what it is, or export it again`,
        );
        return result("blocked");
      }
      findings.add(
        "not_machine_checkable",
        "review",
        "file",
        kind === "image"
          ? "an image cannot be checked automatically: add the counts behind the figure as a CSV, so that the reviewer can check them"
          : "a PDF cannot be checked automatically: add its tables as CSV files, so that the reviewer can check them",
      );
      return result(kind);
    }

    const known = policy.knownIdentifier === undefined ? null : KnownValues.of(policy.knownIdentifier);
    const guard = new TextGuard();
    let feed: (chunk: Uint8Array) => void;
    let finish: () => void;
    if (kind === "text") {
      const text = new TextCheck({ minCellCount: policy.minCellCount }, findings, known);
      feed = (c) => text.push(c);
      finish = () => text.end();
    } else {
      const tabular = new Tabular(ext === "tsv" ? 0x09 : 0, policy, findings, known);
      feed = (c) => tabular.push(c);
      finish = () => tabular.end();
    }
    for (;;) {
      const next = await iterator.next();
      if (next.done) {
        done = true;
        break;
      }
      const chunk = next.value;
      if (chunk.length === 0) continue;
      if (!guard.push(chunk)) return binary(guard.problem!, ext);
      feed(chunk);
    }
    if (!guard.end()) return binary(guard.problem!, ext);
    finish();
    return result(kind);
  } finally {
    if (!done) await iterator.return?.();
  }
}

/** The result for a text file that is not text: only this finding, since rows and lines mean nothing in it. */
function binary(problem: string, ext: string): FileCheck {
  return {
    verdict: "fail",
    kind: "blocked",
    findings: [
      {
        rule: "binary_content",
        severity: "fail",
        location: "file",
        message: `the file is named .${ext} but is not UTF-8 text (${problem}): export it again as UTF-8 text`,
      },
    ],
  };
}

/** A CSV/TSV stream: strips a BOM, settles the delimiter from the first line, then feeds the reader. */
class Tabular {
  readonly #policy: CheckPolicy;
  readonly #findings: FindingCollector;
  readonly #known: KnownValues | null;
  #delimiter: number;
  #reader: CsvReader | null = null;
  #check: TabularCheck | null = null;
  #head: Uint8Array[] = [];
  #headLength = 0;
  #bomChecked = false;

  /** `delimiter` 0: detect it from the first line. */
  constructor(delimiter: number, policy: CheckPolicy, findings: FindingCollector, known: KnownValues | null) {
    this.#delimiter = delimiter;
    this.#policy = policy;
    this.#findings = findings;
    this.#known = known;
  }

  push(chunk: Uint8Array): void {
    if (!this.#bomChecked) {
      // The BOM may itself be cut by a chunk boundary: wait for three bytes.
      this.#head.push(chunk);
      this.#headLength += chunk.length;
      if (this.#headLength < 3) return;
      let all = Buffer.concat(this.#head);
      this.#head = [];
      this.#headLength = 0;
      this.#bomChecked = true;
      if (all[0] === 0xef && all[1] === 0xbb && all[2] === 0xbf) all = all.subarray(3);
      if (all.length > 0) this.push(all);
      return;
    }
    if (this.#reader !== null) {
      this.#reader.push(chunk);
      return;
    }
    this.#head.push(chunk);
    this.#headLength += chunk.length;
    if (this.#delimiter === 0 && this.#headLength < DELIMITER_SAMPLE && !hasLineEnd(this.#head)) return;
    this.#start();
  }

  end(): void {
    if (!this.#bomChecked) {
      this.#bomChecked = true;
      const all = Buffer.concat(this.#head);
      this.#head = [all];
    }
    if (this.#reader === null) this.#start();
    this.#reader!.end();
    this.#check!.finish();
  }

  #start(): void {
    const head = Buffer.concat(this.#head);
    this.#head = [];
    const delimiter = this.#delimiter !== 0 ? this.#delimiter : detectDelimiter(head, 0, head.length);
    const p = this.#policy;
    this.#check = new TabularCheck(
      {
        minCellCount: p.minCellCount,
        roundTo: p.roundTo ?? 0,
        minDegreesOfFreedom: p.minDegreesOfFreedom,
        zeros: p.zeros,
        identifierColumns: p.identifierColumns,
        maxFindings: p.maxFindings ?? DEFAULT_MAX_FINDINGS,
      },
      this.#findings,
      this.#known,
      delimiter,
    );
    this.#reader = new CsvReader(this.#check, delimiter);
    if (head.length > 0) this.#reader.push(head);
  }
}

/** Whether the first line of the held chunks has ended (quotes are not considered: a sample is enough). */
function hasLineEnd(chunks: Uint8Array[]): boolean {
  const last = chunks.at(-1)!;
  return Buffer.from(last.buffer, last.byteOffset, last.byteLength).indexOf(0x0a) >= 0 || last.includes(0x0d);
}

/**
 * The shapes of the automated egress checks (shared/docs/egress-checks.md): a verdict per file, the
 * findings behind it, and the policy they are measured against. A finding points at a place (`location`)
 * and says what to change (`message`); neither ever quotes an identifier value, because findings are
 * stored and shown to reviewers and to the researcher.
 */

/** A verdict; ordered `pass` < `review` < `fail`. */
export type Severity = "pass" | "review" | "fail";

/** One thing a check found. */
export interface Finding {
  /** A rule of {@link RULES}. */
  rule: string;
  severity: "review" | "fail";
  /** "row 3, column n" (1-based data rows, header names), "column n", "line 12", "lines 4-9", "file", "table". */
  location: string;
  /** What to change. Never the value of an identifier; a count may be quoted (it is an aggregate). */
  message: string;
}

/** What the checks measure a file against: the permit's `egress` policy plus what staging recorded. */
export interface CheckPolicy {
  /** Smallest count that may be released. */
  minCellCount: number;
  /** When set, counts must be multiples of it. */
  roundTo?: number;
  /** Smallest residual degrees of freedom of a released model. */
  minDegreesOfFreedom: number;
  /** Severity of a zero count. */
  zeros: "review" | "fail";
  /** Identifier column names of the permit's datasets (a column named like one is `row_level_data`). */
  identifierColumns: string[];
  /**
   * Whether a value was staged from an identifier column (original or pseudonym): `IdentifierSet.has`.
   * Called with a trimmed cell, line or word; answers are cached per file, so it is called once per
   * distinct value (up to the cache's size).
   */
  knownIdentifier?: (value: string) => boolean;
  /** Findings listed per file; past it, one summary finding per rule says how many more there are. @default 200 */
  maxFindings?: number;
}

/** How a file was judged. */
export type FileKind = "tabular" | "text" | "image" | "document" | "data_format" | "blocked";

/** The result of checking one file. */
export interface FileCheck {
  /** The worst severity among the findings; `pass` when there are none. */
  verdict: Severity;
  findings: Finding[];
  kind: FileKind;
}

const RANK: Record<Severity, number> = { pass: 0, review: 1, fail: 2 };

/**
 * The worst of some verdicts (`pass` for none): a file's verdict from its findings, a request's from its files.
 * @example worst("pass", "review") // "review"
 */
export function worst(...s: Severity[]): Severity {
  let w: Severity = "pass";
  for (const x of s) if (RANK[x] > RANK[w]) w = x;
  return w;
}

/** @internal Numeric rank of a severity, for sorting. */
export function rank(s: Severity): number {
  return RANK[s];
}

/**
 * Every rule the checks can report, with the severity it is reported at. The rules of egress-checks.md,
 * plus the ones this implementation adds for files it cannot read as the spec assumes (marked "added").
 */
export const RULES = {
  // file types
  blocked_type: "fail: an archive, executable, `.svg` or unknown type",
  data_format: "fail: a data format (parquet, rds, sqlite, ...)",
  not_machine_checkable: "review: an image or PDF",
  type_mismatch: "fail (added): a .png/.jpg/.pdf whose first bytes are not that format",
  binary_content: "fail (added): a text or CSV file holding NUL bytes or bytes that are not UTF-8",
  // tabular
  row_level_data: "fail: a column named like an identifier column, or a staged identifier value",
  min_cell_count: "fail: a count 0 < v < minCellCount",
  zero_cell: "review (or fail, by policy): a zero count",
  possible_count: "review: a small non-negative integer in a column not recognisably a count",
  suppression_recoverable: "fail: a suppressed cell recoverable from a total (review when too large to check)",
  extreme_values: "review: a min/max column or row",
  no_count_for_statistic: "review: a statistic with no count column beside it",
  degrees_of_freedom: "fail: a model's residual degrees of freedom below the minimum (review when N is absent)",
  rounding: "fail: a count not a multiple of roundTo",
  ragged_row: "review (added): a row with more or fewer fields than the header",
  unterminated_quote: "review (added): a quoted field that is never closed",
  // text
  numeric_table: "review (added): text lines that hold a table of numbers",
  // identifiers
  email: "fail: an e-mail address",
  nif: "fail: a Portuguese tax number (NIF) with a valid check digit",
  health_number: "fail: a 9-digit number in a column or line about utente/SNS/health/patient numbers",
  date_of_birth: "fail: a full date in a column or line about birth",
  full_date: "review: a full calendar date",
  phone: "review: +351 or a 9-digit number starting with 2 or 9",
  postcode: "review: a postcode dddd-ddd",
} as const;

export type Rule = keyof typeof RULES;

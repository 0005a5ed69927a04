/**
 * The tabular checks of egress-checks.md over a CSV/TSV stream, fed field by field by the CSV reader.
 *
 * Memory stays flat whatever the number of rows: what a column is comes from its header name; what the
 * rows say is kept as per-column tallies (how many integers, decimals, text cells, suppressed cells) and,
 * for the decisions that need the whole column (is this a cross-tabulation, is this an integer column of
 * possible counts), as a bounded list per column of the cells that would be reported (at most
 * `maxFindings`, plus counts of the rest). Two checks need the table itself:
 * - `suppression_recoverable` compares totals with the cells they add up, so the rows are kept (numbers,
 *   suppressed marks and short labels) while the table has at most {@link STORED_CELLS} cells (e.g. 10,000
 *   rows of 20 columns). A larger table with both suppressed cells and a total is reported for review
 *   instead ("too large to check"): aggregate outputs with totals are far smaller than that.
 * - `degrees_of_freedom` needs N and the number of parameters of a model table: tallied as rows go by.
 *
 * Decisions where the spec leaves room (see also columns.ts):
 * - A cross-tabulation is a table whose first column holds labels and whose every other column holds only
 *   non-negative integers (blank and suppression markers allowed) and is not named as something else
 *   (a statistic, year, age, code, rate, min/max, model column). Every numeric cell of it is a count. A
 *   two-column `label,value` table of integers is one too.
 * - `possible_count`: an integer column that is not a count by name, not a cross-tabulation, and not named
 *   as some other quantity; its cells `0 <= v < minCellCount` are reported.
 * - A total row is a row with a text cell such as "Total", "All", "Overall", "Subtotal", "Total geral",
 *   "Todos"; a total column is named "total"/"..._total"/"all"/"overall"/"sum". A suppressed cell is blank,
 *   `*`, `<k`, `REDACTED`, `[REDACTED]` or `NA`. Totals are matched with the rows above them (up to the
 *   previous total), the rows below them (when the total comes first), all other rows, and the rows that
 *   share its other labels (`North,Total,30` with the other `North` rows); the rows of a total column with
 *   the other count columns of the row. A suppressed cell is recoverable when it is the only suppressed
 *   cell of such a line and the total minus the other cells is not negative.
 * - Blank lines are skipped and not numbered; rows with more or fewer fields than the header are
 *   `ragged_row` (review), and their extra cells still get the identifier scan.
 */

import { isAsciiSpace } from "../../staging/normalise";
import {
  BIRTH,
  COUNT,
  columnRoles,
  DF_RESIDUAL,
  ESTIMATE,
  EXTREME,
  HEALTH,
  IDENT,
  identifierNamedLike,
  LABEL_DF_RESIDUAL,
  LABEL_ENDS,
  LABEL_EXTREME,
  LABEL_NOBS,
  LABEL_NPARAMS,
  LABEL_TOTAL,
  labelKind,
  MAX_LABEL_BYTES,
  NOBS,
  NOT_COUNT,
  NPARAMS,
  STAT,
  STD_ERROR,
  TOTAL,
} from "./columns";
import {
  AT,
  type CsvSink,
  DIGIT,
  DOT,
  IRREGULAR,
  LONG,
  NONNUM,
  PLUS,
  QUOTED,
  SEP,
  SLOW_NUMBER,
  UNTERMINATED,
} from "./csv-reader";
import type { FindingCollector } from "./findings";
import { anyWordKnown, MAX_LOOKUP_BYTES, reportKnown, reportPatterns } from "./identifiers";
import { KnownValues } from "./known-values";
import { DATE, mentionsBirth, mentionsHealthNumber, NIF, NINE, newCounts, scanPatterns } from "./patterns";
import { Windower } from "./windows";

/** Cells of a table kept for the suppression check. */
export const STORED_CELLS = 200_000;
/** Shortest cell that can hold a date, a postcode or a 9-digit number: shorter ones skip the scan. */
const MIN_PATTERN_BYTES = 8;
/** Columns that are never counts, whatever they hold. */
const NOT_A_COUNT = STAT | NOT_COUNT | EXTREME | ESTIMATE | STD_ERROR | IDENT | DF_RESIDUAL | NPARAMS;

const NUM = 1;
const SUPPRESSED = 2;
const TEXT = 3;

interface StoredRow {
  row: number;
  values: Float64Array;
  kinds: Uint8Array;
  labels: (string | undefined)[];
  total: boolean;
}

/** Cells of a column to report once the whole column is known. */
interface Candidates {
  rows: number[];
  values: number[];
  /** Not kept: below the minimum (0 < v), zero, not a multiple of roundTo. */
  small: number;
  zero: number;
  round: number;
}

/** The resolved policy the tabular check works with. */
export interface TabularPolicy {
  minCellCount: number;
  roundTo: number;
  minDegreesOfFreedom: number;
  zeros: "review" | "fail";
  identifierColumns: readonly string[];
  maxFindings: number;
}

const utf8 = new TextDecoder("utf-8");

/** @internal The tabular checks, as the sink of a {@link CsvReader}; call `finish` after the reader's `end`. */
export class TabularCheck implements CsvSink {
  readonly #p: TabularPolicy;
  readonly #findings: FindingCollector;
  readonly #known: KnownValues | null;
  readonly #decimalComma: boolean;
  readonly #counts = newCounts();
  readonly #knownHas: (b: Uint8Array, s: number, e: number) => boolean;
  readonly #cellKnown: KnownValues | null;

  // header
  #names: string[] = [];
  #hidden: boolean[] = [];
  #roles = new Int32Array(0);
  #n = 0;
  #isModel = false;

  // position
  /** The data row being read (1-based); 0 while reading the header. */
  #row = 0;
  #col = 0;
  #rowHasContent = false;
  /** The row's first field was blank: a suppressed cell, unless the row turns out to be a blank line. */
  #blankFirst = false;
  #rowUnterminated = false;
  #rowTotal = false;
  #rowLabel = 0;
  #rowFirstNumber = Number.NaN;

  // per-column tallies
  #nonNegInt = new Int32Array(0);
  #negInt = new Int32Array(0);
  #decimal = new Int32Array(0);
  #text = new Int32Array(0);
  #suppressed = new Int32Array(0);
  #candidates: (Candidates | null)[] = [];

  // table-wide
  #dataRows = 0;
  #hasTotalRow = false;
  #anySuppressed = false;
  /**
   * The rows kept for the suppression check, as flat arrays (row r, column c at r * n + c) rather than an
   * object per row: a few MB at most, and nothing for the garbage collector to trace. Dropped (null) once
   * the table passes {@link STORED_CELLS}.
   */
  #stored: {
    values: Float64Array;
    kinds: Uint8Array;
    labels: (string | undefined)[];
    rows: number[];
    totals: boolean[];
  } | null = {
    values: new Float64Array(1024),
    kinds: new Uint8Array(1024),
    labels: [],
    rows: [],
    totals: [],
  };
  #nobs = Number.NaN;
  #dfResidual = Number.NaN;
  #nparams = Number.NaN;
  #specialRows = 0;

  // long fields
  #longHealth = false;
  #longBirth = false;
  #longKnown = false;
  readonly #windower: Windower;

  #unquoted = new Uint8Array(256);
  #unquotedLength = 0;

  constructor(policy: TabularPolicy, findings: FindingCollector, known: KnownValues | null, delimiter: number) {
    this.#p = policy;
    this.#findings = findings;
    this.#known = known;
    this.#decimalComma = delimiter !== 0x2c;
    this.#knownHas = known === null ? () => false : (b, s, e) => known.has(b, s, e);
    this.#cellKnown =
      known === null
        ? null
        : new KnownValues((b, s, e) => known.has(b, s, e) || anyWordKnown(b, s, e, this.#knownHas), 1 << 12);
    this.#windower = new Windower((b, s, e) => this.#longWindow(b, s, e));
  }

  // ---- the sink ------------------------------------------------------------------------------------

  field(b: Uint8Array, s: number, e: number, flags: number): void {
    const col = this.#col++;
    if (col === 1 && this.#blankFirst) {
      // The row has a second field, so its blank first one is a cell, not a blank line.
      this.#blankFirst = false;
      if (this.#n > 0) this.#suppressedCell(0);
    }
    if ((flags & UNTERMINATED) !== 0) this.#rowUnterminated = true;
    if ((flags & LONG) !== 0) {
      this.#longEnd(b, s, e, col);
      return;
    }
    let vb = b;
    let vs = s;
    let ve = e;
    if ((flags & QUOTED) !== 0) {
      this.#rowHasContent = true;
      if ((flags & (IRREGULAR | UNTERMINATED)) === 0 && e - s >= 2) {
        vs = s + 1;
        ve = e - 1;
      } else {
        vb = this.#unquote(b, s, e);
        vs = 0;
        ve = this.#unquotedLength;
      }
    }
    // Trimmed of ASCII whitespace, as staging normalises identifier values (staging/normalise.ts).
    while (vs < ve && vb[vs]! <= 0x20 && isAsciiSpace(vb[vs]!)) vs++;
    while (ve > vs && vb[ve - 1]! <= 0x20 && isAsciiSpace(vb[ve - 1]!)) ve--;
    if (this.#row === 0) {
      this.#headerField(vb, vs, ve, flags, col);
      return;
    }
    if (vs === ve) {
      if (col === 0) this.#blankFirst = true;
      else if (col < this.#n) this.#suppressedCell(col);
      return;
    }
    if (col === 0) this.#rowHasContent = true; // only a row of one field can be a blank line
    if ((flags & (DIGIT | AT | PLUS)) !== 0 && (ve - vs >= MIN_PATTERN_BYTES || (flags & (AT | PLUS)) !== 0)) {
      this.#scanCell(vb, vs, ve, col);
    }
    let number = NOT_A_NUMBER;
    if (col < this.#n) {
      // Most cells are plain digits or digits with a decimal point: classified from the tokenizer's flags
      // and a short look at the fraction, the value parsed only where a rule needs it.
      let kind = NOT_A_NUMBER;
      if ((flags & (DIGIT | NONNUM)) === DIGIT) {
        if ((flags & SLOW_NUMBER) !== 0) kind = parseNumber(vb, vs, ve, this.#decimalComma);
        else if ((flags & DOT) === 0) kind = INTEGER;
        else kind = dottedKind(vb, vs, ve);
      }
      if (kind === NOT_A_NUMBER) this.#textCell(col, vb, vs, ve);
      else if (this.#stored !== null || this.#isModel) this.#numberCell(col, vb, vs, ve, kind === INTEGER, flags);
      else if (kind === DECIMAL) this.#decimal[col]!++;
      else if (
        (flags & SLOW_NUMBER) === 0 &&
        (this.#roles[col]! & COUNT) === 0 &&
        (this.#roles[col]! & NOT_A_COUNT) !== 0
      ) {
        this.#nonNegInt[col]!++; // plain digits in a column that is never a count: only the tally matters
      } else this.#numberCell(col, vb, vs, ve, kind === INTEGER, flags);
      number = kind;
    }
    const known = this.#known;
    if (known !== null) {
      // A cell of several words is answered as a whole (the cell or one of its words is known), so that a
      // repeated label costs one look-up, not one per word.
      const words = (flags & SEP) !== 0 && number === NOT_A_NUMBER;
      const hit =
        ve - vs <= MAX_LOOKUP_BYTES
          ? (words ? this.#cellKnown! : known).has(vb, vs, ve)
          : words && anyWordKnown(vb, vs, ve, this.#knownHas);
      if (hit) this.#reportKnown(col);
    }
  }

  longPiece(b: Uint8Array, s: number, e: number): void {
    this.#rowHasContent = true;
    this.#windower.feed(b, s, e);
  }

  endRow(): void {
    const cols = this.#col;
    this.#col = 0;
    if (!this.#rowHasContent && cols <= 1) {
      this.#resetRow();
      return; // a blank line
    }
    if (this.#row === 0) {
      this.#endHeader();
      this.#row = 1;
      this.#resetRow();
      return;
    }
    const row = this.#row;
    if (cols !== this.#n) {
      this.#findings.add(
        "ragged_row",
        "review",
        `row ${row}`,
        `row ${row} has ${cols} field${cols === 1 ? "" : "s"} where the header has ${this.#n}: check the quoting and the delimiter, so that every value is in its column`,
        row,
        0,
      );
    }
    if (this.#rowUnterminated) {
      this.#findings.add(
        "unterminated_quote",
        "review",
        `row ${row}`,
        "a quoted field starting in this row is never closed, so the rest of the file was read as one field: close the quote",
        row,
        0,
      );
    }
    if (this.#rowTotal) this.#hasTotalRow = true;
    if (this.#isModel && this.#rowLabel !== 0) {
      this.#specialRows++;
      const v = this.#rowFirstNumber;
      if (!Number.isNaN(v)) {
        if (this.#rowLabel === LABEL_NOBS) this.#nobs = Math.max(!Number.isNaN(this.#nobs) ? this.#nobs : v, v);
        else if (this.#rowLabel === LABEL_DF_RESIDUAL) this.#dfResidual = v;
        else if (this.#rowLabel === LABEL_NPARAMS) this.#nparams = v;
      }
    }
    const stored = this.#stored;
    if (stored !== null) {
      stored.rows.push(row);
      stored.totals.push(this.#rowTotal);
      if ((stored.rows.length + 1) * this.#n > STORED_CELLS) this.#stored = null;
      else this.#reserve(stored.rows.length);
    }
    this.#dataRows++;
    this.#row++;
    this.#resetRow();
  }

  /** The findings that need the whole table; call once, after the last row. */
  finish(): void {
    if (this.#row === 0) {
      if (this.#col > 0 || this.#rowHasContent) this.endRow();
      else return; // an empty file
    }
    this.#countCandidates();
    this.#modelChecks();
    this.#suppressionChecks();
  }

  // ---- header ---------------------------------------------------------------------------------------

  #headerField(b: Uint8Array, s: number, e: number, flags: number, col: number): void {
    if (e > s) this.#rowHasContent = true;
    let hidden = false;
    if ((flags & (DIGIT | AT | PLUS)) !== 0) {
      const found = scanPatterns(b, s, e, this.#counts);
      if (found > 0) {
        hidden = true;
        const health = mentionsHealthNumber(b, s, e);
        reportPatterns(this.#findings, this.#counts, health, false, () => `header, column #${col + 1}`, 0, col + 1);
      }
    }
    if (this.#known !== null && e > s) {
      const known = (e - s <= MAX_LOOKUP_BYTES && this.#known.has(b, s, e)) || anyWordKnown(b, s, e, this.#knownHas);
      if (known) {
        hidden = true;
        reportKnown(this.#findings, () => `header, column #${col + 1}`, 0, col + 1);
      }
    }
    this.#names[col] = e - s > 200 ? "" : utf8.decode(b.subarray(s, e));
    this.#hidden[col] = hidden;
  }

  #endHeader(): void {
    const n = this.#names.length;
    this.#n = n;
    this.#roles = new Int32Array(n);
    const ids = this.#p.identifierColumns;
    let anyCount = false;
    let estimate = false;
    let stdError = false;
    for (let c = 0; c < n; c++) {
      const r = this.#hidden[c] ? 0 : columnRoles(this.#names[c]!, ids);
      this.#roles[c] = r;
      if ((r & (COUNT | NOBS)) !== 0) anyCount = true;
      if ((r & ESTIMATE) !== 0) estimate = true;
      if ((r & STD_ERROR) !== 0) stdError = true;
    }
    this.#isModel = estimate && stdError;
    this.#nonNegInt = new Int32Array(n);
    this.#negInt = new Int32Array(n);
    this.#decimal = new Int32Array(n);
    this.#text = new Int32Array(n);
    this.#suppressed = new Int32Array(n);
    this.#candidates = Array.from({ length: n }, () => null);
    if (n > STORED_CELLS) this.#stored = null;
    else this.#reserve(0);
    for (let c = 0; c < n; c++) {
      const r = this.#roles[c]!;
      const where = `column ${this.#display(c)}`;
      if ((r & IDENT) !== 0) {
        const like = identifierNamedLike(this.#names[c]!, ids);
        this.#findings.add(
          "row_level_data",
          "fail",
          where,
          `column ${this.#display(c)} is named like the identifier column "${like}" of the permit's datasets: remove it; outputs must be aggregates, not rows about people`,
          0,
          c + 1,
        );
      }
      if ((r & EXTREME) !== 0) {
        this.#findings.add(
          "extreme_values",
          "review",
          where,
          `column ${this.#display(c)} holds minimum or maximum values, which are often a single person's value: remove it, or give a percentile of a group of at least ${this.#p.minCellCount}`,
          0,
          c + 1,
        );
      }
      if ((r & STAT) !== 0 && !anyCount) {
        this.#findings.add(
          "no_count_for_statistic",
          "review",
          where,
          `column ${this.#display(c)} is a statistic with no count column beside it: add the number of people behind each value (a column n), so that groups smaller than ${this.#p.minCellCount} can be seen`,
          0,
          c + 1,
        );
      }
    }
  }

  /** How a column is named in findings: its header, or `#k` when that is empty, too long or itself flagged. */
  #display(c: number): string {
    const name = c < this.#n ? this.#names[c]! : "";
    if (name === "" || this.#hidden[c]) return `#${c + 1}`;
    return name.length > 60 ? `${name.slice(0, 57)}...` : name;
  }

  #at(row: number, col: number): () => string {
    return () => `row ${row}, column ${this.#display(col)}`;
  }

  // ---- cells ----------------------------------------------------------------------------------------

  #scanCell(b: Uint8Array, s: number, e: number, col: number): void {
    const counts = this.#counts;
    if (scanPatterns(b, s, e, counts) === 0) return;
    const roles = col < this.#n ? this.#roles[col]! : 0;
    const health = (roles & HEALTH) !== 0 || (counts[NIF]! + counts[NINE]! > 0 && mentionsHealthNumber(b, s, e));
    const birth = (roles & BIRTH) !== 0 || (counts[DATE]! > 0 && mentionsBirth(b, s, e));
    reportPatterns(this.#findings, counts, health, birth, this.#at(this.#row, col), this.#row, col + 1);
  }

  #reportKnown(col: number): void {
    reportKnown(this.#findings, this.#at(this.#row, col), this.#row, col + 1);
  }

  #suppressedCell(col: number): void {
    this.#suppressed[col]!++;
    this.#anySuppressed = true;
    const stored = this.#stored;
    if (stored !== null) stored.kinds[stored.rows.length * this.#n + col] = SUPPRESSED;
  }

  #numberCell(col: number, b: Uint8Array, s: number, e: number, integer: boolean, flags: number): void {
    // The value: parsed already for a number with a sign or exponent, else read now.
    if ((flags & SLOW_NUMBER) === 0) parseNumber(b, s, e, this.#decimalComma);
    const v = NUMBER[0]!;
    const stored = this.#stored;
    if (stored !== null) {
      const at = stored.rows.length * this.#n + col;
      stored.kinds[at] = NUM;
      stored.values[at] = v;
    }
    const r = this.#roles[col]!;
    if (this.#isModel) {
      if (col > 0 && Number.isNaN(this.#rowFirstNumber)) this.#rowFirstNumber = v;
      if ((r & NOBS) !== 0) this.#nobs = !Number.isNaN(this.#nobs) ? Math.max(this.#nobs, v) : v;
      if ((r & DF_RESIDUAL) !== 0) {
        this.#dfResidual = !Number.isNaN(this.#dfResidual) ? Math.min(this.#dfResidual, v) : v;
      }
      if ((r & NPARAMS) !== 0) this.#nparams = !Number.isNaN(this.#nparams) ? Math.max(this.#nparams, v) : v;
    }
    if (!integer) {
      this.#decimal[col]!++;
      return;
    }
    if (v < 0) {
      this.#negInt[col]!++;
      return;
    }
    this.#nonNegInt[col]!++;
    if ((r & COUNT) === 0 && (r & NOT_A_COUNT) !== 0) return;
    // Most counts break no rule: decided here, without a call. Integer modulo where the count allows it.
    const roundTo = this.#p.roundTo;
    if (
      v >= this.#p.minCellCount &&
      (roundTo === 0 || (v <= 0x7fffffff ? ((v | 0) % roundTo) | 0 : v % roundTo) === 0)
    ) {
      return;
    }
    if ((r & COUNT) !== 0) this.#countRules(this.#row, col, v);
    else this.#candidate(col, v);
  }

  /** min_cell_count, zero_cell and rounding for a count cell. */
  #countRules(row: number, col: number, v: number): void {
    const min = this.#p.minCellCount;
    const roundTo = this.#p.roundTo;
    if (v >= min && (roundTo === 0 || v % roundTo === 0)) return;
    if (v === 0) {
      this.#findings.add(
        "zero_cell",
        this.#p.zeros,
        this.#at(row, col),
        "cell value 0 can disclose that nobody in this group has the attribute: check that it does not, or merge the group",
        row,
        col + 1,
      );
    } else if (v < min) {
      this.#findings.add(
        "min_cell_count",
        "fail",
        this.#at(row, col),
        () => `cell value ${v} is below the minimum count ${min}: suppress or aggregate`,
        row,
        col + 1,
      );
    }
    if (roundTo > 0 && v % roundTo !== 0) {
      this.#findings.add(
        "rounding",
        "fail",
        this.#at(row, col),
        `the count is not a multiple of ${roundTo}: round counts to multiples of ${roundTo}`,
        row,
        col + 1,
      );
    }
  }

  #candidate(col: number, v: number): void {
    let c = this.#candidates[col];
    if (c === null || c === undefined) {
      c = { rows: [], values: [], small: 0, zero: 0, round: 0 };
      this.#candidates[col] = c;
    }
    if (c.rows.length < this.#p.maxFindings) {
      c.rows.push(this.#row);
      c.values.push(v);
      return;
    }
    if (v === 0) c.zero++;
    else if (v < this.#p.minCellCount) c.small++;
    const roundTo = this.#p.roundTo;
    if (roundTo > 0 && v % roundTo !== 0) c.round++;
  }

  #textCell(col: number, b: Uint8Array, s: number, e: number): void {
    if (MARKER_START[b[s]!] === 1 && isSuppressionMarker(b, s, e)) {
      this.#suppressedCell(col);
      return;
    }
    this.#text[col]!++;
    const stored = this.#stored;
    if (stored !== null) {
      const at = stored.rows.length * this.#n + col;
      stored.kinds[at] = TEXT;
      if (e - s <= 64) stored.labels[at] = utf8.decode(b.subarray(s, e)).toLowerCase();
    }
    if (e - s > MAX_LABEL_BYTES || e - s < 3) return; // the shortest label is "all"
    if (!this.#isModel && LABEL_ENDS[(lower(b[s]!) << 8) | lower(b[e - 1]!)] === 0) return;
    const kind = labelKind(utf8.decode(b.subarray(s, e)));
    if (kind === LABEL_TOTAL) this.#rowTotal = true;
    else if (kind === LABEL_EXTREME) {
      this.#findings.add(
        "extreme_values",
        "review",
        `row ${this.#row}`,
        `row ${this.#row} is labelled as a minimum or maximum, which is often a single person's value: remove it, or give a percentile of a group of at least ${this.#p.minCellCount}`,
        this.#row,
        col + 1,
      );
    } else if (kind !== 0 && col === 0) this.#rowLabel = kind;
  }

  /** Makes room in the kept rows for row index `r`. */
  #reserve(r: number): void {
    const stored = this.#stored!;
    const need = (r + 1) * this.#n;
    if (need <= stored.kinds.length) return;
    const size = Math.min(STORED_CELLS, Math.max(need, stored.kinds.length * 2));
    const values = new Float64Array(size);
    values.set(stored.values);
    const kinds = new Uint8Array(size);
    kinds.set(stored.kinds);
    stored.values = values;
    stored.kinds = kinds;
  }

  #resetRow(): void {
    this.#rowHasContent = false;
    this.#blankFirst = false;
    this.#rowUnterminated = false;
    this.#rowTotal = false;
    this.#rowLabel = 0;
    this.#rowFirstNumber = Number.NaN;
  }

  // ---- long fields ----------------------------------------------------------------------------------

  #longWindow(b: Uint8Array, s: number, e: number): void {
    scanPatterns(b, s, e, this.#counts);
    if (!this.#longHealth && mentionsHealthNumber(b, s, e)) this.#longHealth = true;
    if (!this.#longBirth && mentionsBirth(b, s, e)) this.#longBirth = true;
    if (this.#known !== null && !this.#longKnown && anyWordKnown(b, s, e, this.#knownHas)) this.#longKnown = true;
  }

  /** The end of a field longer than the window: report what its windows held; it is text, not a value. */
  #longEnd(b: Uint8Array, s: number, e: number, col: number): void {
    this.#rowHasContent = true;
    this.#windower.feed(b, s, e);
    this.#windower.flush();
    const header = this.#row === 0;
    const roles = !header && col < this.#n ? this.#roles[col]! : 0;
    const where = header ? () => `header, column #${col + 1}` : this.#at(this.#row, col);
    reportPatterns(
      this.#findings,
      this.#counts,
      this.#longHealth || (roles & HEALTH) !== 0,
      this.#longBirth || (roles & BIRTH) !== 0,
      where,
      this.#row,
      col + 1,
    );
    if (this.#longKnown) reportKnown(this.#findings, where, this.#row, col + 1);
    this.#longHealth = false;
    this.#longBirth = false;
    this.#longKnown = false;
    if (header) {
      this.#names[col] = "";
      this.#hidden[col] = true;
    } else if (col < this.#n) {
      this.#text[col]!++;
      const stored = this.#stored;
      if (stored !== null) stored.kinds[stored.rows.length * this.#n + col] = TEXT;
    }
  }

  /** The content of the quoted field `b[s, e)`: `""` becomes `"`, text after the closing quote is kept. */
  #unquote(b: Uint8Array, s: number, e: number): Uint8Array {
    if (this.#unquoted.length < e - s) this.#unquoted = new Uint8Array(e - s);
    const u = this.#unquoted;
    let n = 0;
    let i = s + 1;
    let open = true;
    while (i < e) {
      const x = b[i]!;
      if (!open || x !== 0x22) {
        u[n++] = x;
        i++;
      } else if (i + 1 < e && b[i + 1] === 0x22) {
        u[n++] = 0x22;
        i += 2;
      } else {
        open = false;
        i++;
      }
    }
    this.#unquotedLength = n;
    return u;
  }

  // ---- whole-table checks ---------------------------------------------------------------------------

  /** Whether the table is a cross-tabulation (see the module comment). */
  #isCrosstab(): boolean {
    if (this.#n < 2 || this.#dataRows === 0) return false;
    for (let c = 1; c < this.#n; c++) {
      if ((this.#roles[c]! & NOT_A_COUNT) !== 0) return false;
      if (this.#decimal[c]! > 0 || this.#text[c]! > 0 || this.#negInt[c]! > 0 || this.#nonNegInt[c] === 0) return false;
    }
    return true;
  }

  #countCandidates(): void {
    const crosstab = this.#isCrosstab();
    const min = this.#p.minCellCount;
    for (let c = 0; c < this.#n; c++) {
      const cand = this.#candidates[c];
      if (cand === null || cand === undefined) continue;
      if (crosstab && c === 0) continue; // the labels of a cross-tabulation
      if (crosstab) {
        for (let k = 0; k < cand.rows.length; k++) this.#countRules(cand.rows[k]!, c, cand.values[k]!);
        this.#findings.omit("zero_cell", this.#p.zeros, cand.zero);
        this.#findings.omit("min_cell_count", "fail", cand.small);
        this.#findings.omit("rounding", "fail", cand.round);
        continue;
      }
      const integerColumn = this.#decimal[c] === 0 && this.#text[c] === 0;
      if (!integerColumn) continue;
      for (let k = 0; k < cand.rows.length; k++) {
        const v = cand.values[k]!;
        if (v >= min) continue;
        const row = cand.rows[k]!;
        this.#findings.add(
          "possible_count",
          "review",
          this.#at(row, c),
          () =>
            `cell value ${v} may be a count below the minimum ${min}: if it counts people or events, suppress or aggregate it; if not, name the column for what it is`,
          row,
          c + 1,
        );
      }
      this.#findings.omit("possible_count", "review", cand.small + cand.zero);
    }
  }

  #modelChecks(): void {
    if (!this.#isModel) return;
    const min = this.#p.minDegreesOfFreedom;
    const params = !Number.isNaN(this.#nparams) ? this.#nparams : this.#dataRows - this.#specialRows;
    let df = this.#dfResidual;
    let how = `${df}`;
    if (Number.isNaN(df) && !Number.isNaN(this.#nobs)) {
      df = this.#nobs - params;
      how = `${df} (N ${this.#nobs} minus ${params} parameter${params === 1 ? "" : "s"})`;
    }
    if (!Number.isNaN(df)) {
      if (df < min) {
        this.#findings.add(
          "degrees_of_freedom",
          "fail",
          "table",
          `the model's residual degrees of freedom are ${how}, below the minimum ${min}: fit it on more observations or with fewer parameters`,
        );
      }
      return;
    }
    this.#findings.add(
      "degrees_of_freedom",
      "review",
      "table",
      "this model table gives no number of observations (N): add N (a column or a row named n or nobs), so that its residual degrees of freedom can be checked",
    );
  }

  #suppressionChecks(): void {
    const totalColumns: number[] = [];
    for (let c = 0; c < this.#n; c++) if ((this.#roles[c]! & TOTAL) !== 0) totalColumns.push(c);
    if (!this.#anySuppressed || (!this.#hasTotalRow && totalColumns.length === 0)) return;
    const stored = this.#stored;
    if (stored === null) {
      this.#findings.add(
        "suppression_recoverable",
        "review",
        "table",
        `the table has suppressed cells and totals but is too large (over ${STORED_CELLS} cells) for the automatic check: check by hand that no suppressed cell can be recovered by subtracting the other cells from a total`,
      );
      return;
    }
    const sumColumns: number[] = [];
    for (let c = 0; c < this.#n; c++) {
      const r = this.#roles[c]!;
      if ((r & NOT_A_COUNT) !== 0 || this.#decimal[c]! > 0 || this.#text[c]! > 0 || this.#negInt[c]! > 0) continue;
      if (this.#nonNegInt[c]! > 0) sumColumns.push(c);
    }
    const n = this.#n;
    const rows: StoredRow[] = stored.rows.map((row, r) => ({
      row,
      values: stored.values.subarray(r * n, (r + 1) * n),
      kinds: stored.kinds.subarray(r * n, (r + 1) * n),
      labels: stored.labels.slice(r * n, (r + 1) * n),
      total: stored.totals[r]!,
    }));
    const reported = new Set<string>();
    const report = (r: StoredRow, c: number, totalAt: string, total: number, recovered: number) => {
      const key = `${r.row}:${c}`;
      if (reported.has(key)) return;
      reported.add(key);
      this.#findings.add(
        "suppression_recoverable",
        "fail",
        this.#at(r.row, c),
        `this suppressed cell can be recovered: the total ${total} ${totalAt} minus the other cells gives ${recovered}; suppress at least one more cell of that line, or the total`,
        r.row,
        c + 1,
      );
    };
    // One line: the cells of column c in `set` add up to `total`.
    const checkLine = (set: StoredRow[], c: number, total: number, totalAt: string) => {
      let hidden: StoredRow | null = null;
      let sum = 0;
      for (const r of set) {
        const k = r.kinds[c];
        if (k === NUM) sum += r.values[c]!;
        else if (k === SUPPRESSED && hidden === null) hidden = r;
        else return; // text, or a second suppressed cell
      }
      const recovered = total - sum;
      if (hidden !== null && recovered >= 0) report(hidden, c, totalAt, total, round(recovered));
    };
    // Total rows.
    const labelColumns: number[] = [];
    for (let c = 0; c < this.#n; c++) if (this.#text[c]! > 0) labelColumns.push(c);
    const details = rows.filter((r) => !r.total);
    for (let t = 0; t < rows.length; t++) {
      const totalRow = rows[t]!;
      if (!totalRow.total) continue;
      const sets: StoredRow[][] = [details];
      let before = t - 1;
      while (before >= 0 && !rows[before]!.total) before--;
      if (before < t - 1) sets.push(rows.slice(before + 1, t));
      else {
        let after = t + 1;
        while (after < rows.length && !rows[after]!.total) after++;
        if (after > t + 1) sets.push(rows.slice(t + 1, after));
      }
      const keys = labelColumns.filter((c) => {
        const l = totalRow.labels[c];
        return l !== undefined && labelKind(l) !== LABEL_TOTAL;
      });
      if (keys.length > 0) sets.push(details.filter((r) => keys.every((c) => r.labels[c] === totalRow.labels[c])));
      for (const c of sumColumns) {
        if (totalRow.kinds[c] !== NUM) continue;
        for (const set of sets) checkLine(set, c, totalRow.values[c]!, `in row ${totalRow.row}`);
      }
    }
    // Total columns.
    for (const tc of totalColumns) {
      const others = sumColumns.filter((c) => c !== tc);
      if (others.length === 0) continue;
      for (const r of rows) {
        if (r.kinds[tc] !== NUM) continue;
        let hidden = -1;
        let sum = 0;
        let ok = true;
        for (const c of others) {
          const k = r.kinds[c];
          if (k === NUM) sum += r.values[c]!;
          else if (k === SUPPRESSED && hidden < 0) hidden = c;
          else ok = false;
        }
        const recovered = r.values[tc]! - sum;
        if (ok && hidden >= 0 && recovered >= 0) {
          report(r, hidden, `in column ${this.#display(tc)} of this row`, r.values[tc]!, round(recovered));
        }
      }
    }
  }
}

const round = (x: number) => Math.round(x * 1e6) / 1e6;

function lower(b: number): number {
  return b >= 0x41 && b <= 0x5a ? b | 0x20 : b;
}

/** Blank (handled by the caller), `*`, `<k`, `REDACTED`, `[REDACTED]` or `NA`, case-insensitive. */
export function isSuppressionMarker(b: Uint8Array, s: number, e: number): boolean {
  const len = e - s;
  const first = b[s]!;
  if (first === 0x2a) {
    for (let i = s; i < e; i++) if (b[i] !== 0x2a) return false;
    return true;
  }
  if (first === 0x3c) {
    let i = s + 1;
    if (b[i] === 0x3d) i++;
    while (i < e && b[i] === 0x20) i++;
    if (i === e) return false;
    for (; i < e; i++) if (b[i]! < 0x30 || b[i]! > 0x39) return false;
    return true;
  }
  if (len === 2) return lower(first) === 0x6e && lower(b[s + 1]!) === 0x61;
  if ((len === 8 && lower(first) === 0x72) || (len === 10 && first === 0x5b)) {
    const word = String.fromCharCode(...b.subarray(s, e)).toLowerCase();
    return word === "redacted" || word === "[redacted]";
  }
  return false;
}

/** What {@link parseNumber} read. */
export const NOT_A_NUMBER = 0;
export const INTEGER = 1;
export const DECIMAL = 2;
/** The value {@link parseNumber} read. */
export const NUMBER = new Float64Array(1);

/** Bytes that can start a suppression marker: `*`, `<`, `[`, n, N, r, R. */
const MARKER_START = new Uint8Array(256);
for (const ch of "*<[nNrR") MARKER_START[ch.charCodeAt(0)] = 1;

/**
 * What digits with decimal points (no sign, exponent or space) spell: {@link DECIMAL}, {@link INTEGER}
 * when the fraction is all zeros (`4.0`), {@link NOT_A_NUMBER} for anything but one point among digits.
 */
function dottedKind(b: Uint8Array, s: number, e: number): number {
  let dot = -1;
  let zeros = true;
  for (let i = s; i < e; i++) {
    const x = b[i]!;
    if (x < 0x30) {
      if (dot >= 0) return NOT_A_NUMBER;
      dot = i;
    } else if (dot >= 0 && x !== 0x30) zeros = false;
  }
  if (dot === s && dot === e - 1) return NOT_A_NUMBER;
  return zeros ? INTEGER : DECIMAL;
}

/**
 * Reads the number `b[s, e)` spells (sign, digits, a decimal point, or comma when `decimalComma`, an
 * exponent) into `NUMBER[0]`: {@link INTEGER} (no fractional part, so `4.0` too), {@link DECIMAL}, or
 * {@link NOT_A_NUMBER}.
 */
export function parseNumber(b: Uint8Array, s: number, e: number, decimalComma: boolean): number {
  let i = s;
  let negative = false;
  if (b[i] === 0x2d || b[i] === 0x2b) {
    negative = b[i] === 0x2d;
    i++;
  }
  let v = 0;
  let digits = 0;
  for (; i < e; i++) {
    const d = b[i]! - 0x30;
    if (d < 0 || d > 9) break;
    v = v * 10 + d;
    digits++;
  }
  let kind = INTEGER;
  if (i < e && (b[i] === 0x2e || (decimalComma && b[i] === 0x2c))) {
    i++;
    let scale = 1;
    let fraction = 0;
    for (; i < e; i++) {
      const d = b[i]! - 0x30;
      if (d < 0 || d > 9) break;
      fraction = fraction * 10 + d;
      scale *= 10;
      digits++;
    }
    if (fraction !== 0) {
      kind = DECIMAL;
      v += fraction / scale;
    }
  }
  if (digits === 0) return NOT_A_NUMBER;
  if (i < e && (b[i] === 0x65 || b[i] === 0x45)) {
    const x = Number(String.fromCharCode(...b.subarray(s, e)).replace(",", "."));
    if (Number.isNaN(x)) return NOT_A_NUMBER;
    NUMBER[0] = x;
    return Number.isInteger(x) ? INTEGER : DECIMAL;
  }
  if (i !== e) return NOT_A_NUMBER;
  NUMBER[0] = negative ? -v : v;
  return kind;
}

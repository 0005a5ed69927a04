/**
 * What a column is, judged from its header name: a count, a statistic, a min/max, part of a model table,
 * named like an identifier column, about births or health numbers. Names are split into lowercase words at
 * `_`, space, `-`, `.` and camelCase humps ("nPatients" -> n, patients), so "N", "n_patients", "Num cases"
 * and "deathCount" are all counts. Also the row labels that mark a total or a min/max row.
 */

export const COUNT = 1 << 0;
export const STAT = 1 << 1;
export const EXTREME = 1 << 2;
/** Named like an identifier column of the permit's datasets. */
export const IDENT = 1 << 3;
export const BIRTH = 1 << 4;
export const HEALTH = 1 << 5;
/** A quantity that is not a count even when it holds small integers (year, age, code...). */
export const NOT_COUNT = 1 << 6;
export const ESTIMATE = 1 << 7;
export const STD_ERROR = 1 << 8;
/** Number of observations of a model. */
export const NOBS = 1 << 9;
export const DF_RESIDUAL = 1 << 10;
export const NPARAMS = 1 << 11;
export const TOTAL = 1 << 12;

const COUNT_WORDS = new Set([
  "n",
  "count",
  "counts",
  "freq",
  "frequency",
  "num",
  "number",
  "patients",
  "cases",
  "deaths",
  "events",
  "total",
]);
const STAT_WORDS = new Set([
  "mean",
  "avg",
  "average",
  "median",
  "sd",
  "std",
  "stdev",
  "stddev",
  "sigma",
  "variance",
  "var",
  "percentile",
  "pctl",
  "quantile",
  "quartile",
  "iqr",
  "q1",
  "q3",
  "media",
  "mediana",
  "dp",
]);
const EXTREME_WORDS = new Set([
  "min",
  "max",
  "minimum",
  "maximum",
  "mín",
  "máx",
  "mínimo",
  "máximo",
  "minimo",
  "maximo",
]);
const NOT_COUNT_WORDS = new Set([
  "year",
  "yr",
  "age",
  "id",
  "code",
  "month",
  "week",
  "day",
  "date",
  "time",
  "hour",
  "zip",
  "postcode",
  "rank",
  "order",
  "index",
  "idx",
  "ano",
  "idade",
  "mes",
  "semana",
  "codigo",
  "código",
  "pct",
  "percent",
  "percentage",
  "rate",
  "ratio",
  "proportion",
  "prop",
  "p",
  "pvalue",
]);
const ESTIMATE_WORDS = new Set(["estimate", "est", "coef", "coefficient", "coefficients", "beta"]);
const STD_ERROR_NAMES = new Set(["se", "stderr", "stderror", "standarderror", "sterr", "seestimate", "stderrors"]);
const NOBS_NAMES = new Set([
  "n",
  "nobs",
  "numobs",
  "nobservations",
  "observations",
  "noobservations",
  "numberofobservations",
  "samplesize",
  "obs",
]);
const DF_RESIDUAL_NAMES = new Set([
  "dfresidual",
  "dfresiduals",
  "dfresid",
  "residualdf",
  "dfres",
  "residualdegreesoffreedom",
]);
const NPARAMS_NAMES = new Set(["k", "nparams", "nparam", "numparams", "nparameters", "parameters", "npar", "dfmodel"]);
const TOTAL_LABELS = new Set([
  "total",
  "totals",
  "grand total",
  "overall",
  "all",
  "sum",
  "subtotal",
  "sub-total",
  "total geral",
  "totais",
  "todos",
  "todas",
]);
const EXTREME_LABELS = new Set([...EXTREME_WORDS, "min.", "max."]);

/** The lowercase words of a name. */
export function words(name: string): string[] {
  return name
    .replace(/([\p{Ll}\p{N}])(\p{Lu})/gu, "$1 $2")
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w.length > 0);
}

/** Whether a header names a count: equal to or ending in a count word. */
export function isCountName(name: string): boolean {
  const w = words(name);
  return w.length > 0 && COUNT_WORDS.has(w.at(-1)!);
}

/** The role bits of a column from its header name and the permit's identifier column names. */
export function columnRoles(name: string, identifierColumns: readonly string[]): number {
  const w = words(name);
  if (w.length === 0) return 0;
  const joined = w.join("");
  let r = 0;
  if (COUNT_WORDS.has(w.at(-1)!)) r |= COUNT;
  if (STD_ERROR_NAMES.has(joined) || (w[0] === "se" && w.length <= 2)) r |= STD_ERROR;
  else if (w.some((x) => STAT_WORDS.has(x) || /^p\d{1,2}$/.test(x))) r |= STAT;
  if (w.some((x) => EXTREME_WORDS.has(x))) r |= EXTREME;
  if (w.some((x) => ESTIMATE_WORDS.has(x))) r |= ESTIMATE;
  if (NOBS_NAMES.has(joined)) r |= NOBS;
  if (DF_RESIDUAL_NAMES.has(joined)) r |= DF_RESIDUAL;
  if (NPARAMS_NAMES.has(joined)) r |= NPARAMS;
  if (w.at(-1) === "total" || w.at(-1) === "totals" || TOTAL_LABELS.has(w.join(" "))) r |= TOTAL;
  if (w.some((x) => NOT_COUNT_WORDS.has(x)) && (r & COUNT) === 0) r |= NOT_COUNT;
  if (w.some((x) => x.includes("birth") || x.includes("nascimento") || x === "dob" || x === "nasc")) r |= BIRTH;
  if (joined.includes("utente") || w.includes("sns") || /health(care)?number|patientnumber/.test(joined)) r |= HEALTH;
  for (const id of identifierColumns) {
    const iw = words(id);
    if (iw.length > 0 && containsRun(w, iw)) {
      r |= IDENT;
      break;
    }
  }
  return r;
}

/** The identifier column `name` is named like, for the message; "" when none. */
export function identifierNamedLike(name: string, identifierColumns: readonly string[]): string {
  const w = words(name);
  return (
    identifierColumns.find((id) => {
      const iw = words(id);
      return iw.length > 0 && containsRun(w, iw);
    }) ?? ""
  );
}

function containsRun(w: string[], run: string[]): boolean {
  for (let i = 0; i + run.length <= w.length; i++) {
    let k = 0;
    while (k < run.length && w[i + k] === run[k]) k++;
    if (k === run.length) return true;
  }
  return false;
}

/** Row label kinds. */
export const LABEL_TOTAL = 1;
export const LABEL_EXTREME = 2;
export const LABEL_NOBS = 3;
export const LABEL_DF_RESIDUAL = 4;
export const LABEL_NPARAMS = 5;

/** What a short text cell says about its row: a total, a min/max, a model's N, df or parameters; 0 for none. */
export function labelKind(text: string): number {
  const t = text.trim().toLowerCase();
  if (TOTAL_LABELS.has(t) || /^(sub-?)?total[\s:_-]/.test(t)) return LABEL_TOTAL;
  if (EXTREME_LABELS.has(t)) return LABEL_EXTREME;
  const joined = t.replace(/[^\p{L}\p{N}]+/gu, "");
  if (NOBS_NAMES.has(joined)) return LABEL_NOBS;
  if (DF_RESIDUAL_NAMES.has(joined)) return LABEL_DF_RESIDUAL;
  if (NPARAMS_NAMES.has(joined)) return LABEL_NPARAMS;
  return 0;
}

/** Longest text cell that {@link labelKind} can recognise, in bytes. */
export const MAX_LABEL_BYTES = 40;

/**
 * 1 at `first << 8 | last` (lowercased ASCII bytes of a trimmed cell) when a total or min/max label can
 * start and end that way: a cheap test that spares nearly every text cell the string work of labelKind.
 */
export const LABEL_ENDS = (() => {
  const t = new Uint8Array(65536);
  for (const l of [...TOTAL_LABELS, ...EXTREME_LABELS]) {
    const bytes = new TextEncoder().encode(l);
    t[(bytes[0]! << 8) | bytes.at(-1)!] = 1;
  }
  for (let last = 0; last < 256; last++) t[(0x74 << 8) | last] = 1; // "total ..."
  for (let last = 0; last < 256; last++) t[(0x73 << 8) | last] = 1; // "subtotal ..."
  return t;
})();

/**
 * Turns what the identifier scan counted in one cell or line into findings, and finds the words of a cell
 * or line that are worth asking the identifier set about. Shared by the tabular and the text checks.
 * Messages name the kind of identifier, never its value.
 */
import type { FindingCollector } from "./findings";
import { DATE, EMAIL, NIF, NINE, NINE_PHONE, type PatternCounts, PLUS351, POSTCODE } from "./patterns";

/** Longest cell, line or word looked up in the identifier set; identifiers are far shorter. */
export const MAX_LOOKUP_BYTES = 256;
/** Shortest word inside a cell or line that is looked up on its own (whole cells and lines: any length). */
export const MIN_WORD_BYTES = 6;

const plural = (n: number, one: string, many: string) => (n === 1 ? one : `${n} ${many}`);

/**
 * Adds the findings for `counts` (then zeroes it). `health`: the header or line mentions utente/SNS/health
 * or patient numbers, so every 9-digit number is a health number; `birth`: it is about births, so a full
 * date is a date of birth.
 */
export function reportPatterns(
  findings: FindingCollector,
  counts: PatternCounts,
  health: boolean,
  birth: boolean,
  location: () => string,
  row: number,
  col: number,
): void {
  const email = counts[EMAIL]!;
  const nif = counts[NIF]!;
  const nine = counts[NINE]!;
  // In a health context every 9-digit number is reported as a health number, phone-shaped or not.
  const phone = (health ? 0 : counts[NINE_PHONE]!) + counts[PLUS351]!;
  const dates = counts[DATE]!;
  const postcodes = counts[POSTCODE]!;
  counts.fill(0);
  if (email > 0) {
    findings.add(
      "email",
      "fail",
      location,
      () =>
        `holds ${plural(email, "an e-mail address", "e-mail addresses")}: remove ${email === 1 ? "it" : "them"} (outputs may hold only aggregate, non-personal data)`,
      row,
      col,
    );
  }
  if (health && nif + nine > 0) {
    findings.add(
      "health_number",
      "fail",
      location,
      () =>
        `holds ${plural(nif + nine, "a 9-digit number", "9-digit numbers")} where utente/SNS, health or patient numbers are mentioned: remove the health number${nif + nine === 1 ? "" : "s"}`,
      row,
      col,
    );
  } else if (nif > 0) {
    findings.add(
      "nif",
      "fail",
      location,
      () =>
        `holds ${plural(nif, "a 9-digit number", "9-digit numbers")} with a valid Portuguese tax number (NIF) check digit: remove ${nif === 1 ? "it" : "them"}, or if it is a count or an amount, say so to the reviewer`,
      row,
      col,
    );
  }
  if (phone > 0) {
    findings.add(
      "phone",
      "review",
      location,
      () =>
        `holds ${plural(phone, "what looks like a phone number", "numbers that look like phone numbers")} (+351, or 9 digits starting with 2 or 9): remove ${phone === 1 ? "it" : "them"} unless ${phone === 1 ? "it is" : "they are"} not about a person`,
      row,
      col,
    );
  }
  if (dates > 0) {
    if (birth) {
      findings.add(
        "date_of_birth",
        "fail",
        location,
        () =>
          `holds ${plural(dates, "a full date of birth", "full dates of birth")}: give the year or an age group instead`,
        row,
        col,
      );
    } else {
      findings.add(
        "full_date",
        "review",
        location,
        () =>
          `holds ${plural(dates, "a full calendar date", "full calendar dates")}: give the month or the year unless the exact day is needed and is not about a person`,
        row,
        col,
      );
    }
  }
  if (postcodes > 0) {
    findings.add(
      "postcode",
      "review",
      location,
      () =>
        `holds ${plural(postcodes, "what looks like a full postcode", "values that look like full postcodes")} (dddd-ddd): use the 4-digit area or a larger area`,
      row,
      col,
    );
  }
}

/** The finding for a value that the identifier set knows. */
export function reportKnown(findings: FindingCollector, location: () => string, row: number, col: number): void {
  findings.add(
    "row_level_data",
    "fail",
    location,
    "holds a value staged from an identifier column of the permit's datasets (a pseudonym or an original identifier): outputs must not hold identifiers; aggregate the rows",
    row,
    col,
  );
}

/** Word separators inside a cell or line: whitespace and punctuation that identifiers do not contain. */
const WORD_SEP = new Uint8Array(256);
for (let b = 0; b <= 0x20; b++) WORD_SEP[b] = 1;
for (const ch of ",;:|/()[]{}<>=\"'`!?*&") WORD_SEP[ch.charCodeAt(0)] = 1;

/**
 * Whether any word of `b[s, e)` of {@link MIN_WORD_BYTES} to {@link MAX_LOOKUP_BYTES} bytes is known.
 * A word that is the whole range is skipped (the caller looked the whole range up already).
 */
export function anyWordKnown(
  b: Uint8Array,
  s: number,
  e: number,
  has: (b: Uint8Array, s: number, e: number) => boolean,
): boolean {
  let i = s;
  while (i < e) {
    while (i < e && WORD_SEP[b[i]!] === 1) i++;
    const start = i;
    while (i < e && WORD_SEP[b[i]!] === 0) i++;
    // A trailing full stop ends a sentence, not an identifier.
    let end = i;
    while (end > start && b[end - 1] === 0x2e) end--;
    const len = end - start;
    if (len >= MIN_WORD_BYTES && len <= MAX_LOOKUP_BYTES && !(start === s && end === e) && has(b, start, end)) {
      return true;
    }
  }
  return false;
}

/**
 * Job output is shown to the researcher outside any review, so it must not become a way to read
 * identifiers out: every token of stdout/stderr that the workspace's identifier set recognises (a
 * pseudonym or an original identifier value) is replaced before the output is stored.
 * This does not make logs a release channel: row-level data without identifiers can still be printed,
 * and outputs meant to leave go through egress.
 */
import type { IdentifierSet } from "../staging";

const TOKEN = /[^\s,;|"'`()[\]{}<>=:]{3,}/g;
export const REDACTED = "[identifier]";

/** @returns the text with known identifiers replaced, and how many were. */
export function redactIdentifiers(text: string, known: Pick<IdentifierSet, "has">): { text: string; count: number } {
  let count = 0;
  const out = text.replace(TOKEN, (t) => {
    if (!known.has(t)) return t;
    count++;
    return REDACTED;
  });
  return { text: out, count };
}

/**
 * Helpers the screens share: route parameter patterns, reading form fields, and the reviewer's next file
 * without a mark.
 */
import { DECISIONS, type Decision, type ReviewDraft, ValidationError } from "@spe/core";
import type { Context } from "hono";
import { formBody } from "../csrf";

/** Route pattern of a resource id (egress request, permit, dataset ids). */
export const ID = "[A-Za-z0-9][A-Za-z0-9._-]{0,127}";
/** Route pattern of a file index. */
export const INDEX = "\\d{1,2}";

/** The form's fields as strings (files and repeated fields are refused). */
export async function formOf(c: Context): Promise<Record<string, string>> {
  const type = c.req.header("content-type") ?? "";
  if (!/^(application\/x-www-form-urlencoded|multipart\/form-data)/i.test(type)) {
    throw new ValidationError("request.invalid", "send the form as the console does (a form post)");
  }
  const body = await formBody(c);
  if (!body) throw new ValidationError("request.invalid", "the form could not be read: send it again");
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(body)) if (typeof v === "string") out[k] = v;
  return out;
}

export const decisionOf = (v: string | undefined): Decision | undefined =>
  (DECISIONS as readonly string[]).includes(v ?? "") ? (v as Decision) : undefined;

/** Comments are one paragraph: line breaks typed in a textarea become spaces (the API refuses control characters). */
export const oneParagraph = (s: string | undefined) => (s ?? "").replace(/\r\n|[\r\n\t]/g, " ");

/** The first file after `from` (wrapping around) that the draft has no mark for; null when all are marked. */
export function nextUnmarked(draft: Pick<ReviewDraft, "files">, from: number): number | null {
  const n = draft.files.length;
  for (let k = 1; k <= n; k++) {
    const i = (from + k + n) % n;
    if (draft.files[i] === null || draft.files[i] === undefined) return i;
  }
  return null;
}

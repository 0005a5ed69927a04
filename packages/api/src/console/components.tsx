/** @jsxImportSource hono/jsx */
/**
 * Small pieces every screen uses: the CSRF field, verdict and status badges, a disabled action with the
 * server's reason, field errors, and formatting. Content from outputs is only ever rendered as escaped
 * text (hono/jsx escapes every string child and attribute); `Shown` also makes invisible characters
 * (controls, bidi overrides) visible, so a file cannot hide what it says from its reviewer.
 */
import type { ActionState, FieldError } from "@spe/core";
import type { Child } from "hono/jsx";
import { CSRF_FIELD } from "./csrf";

export const CsrfField = ({ token }: { token: string }) => <input type="hidden" name={CSRF_FIELD} value={token} />;

export const Verdict = ({ v }: { v: string }) => <span class={`badge verdict-${v}`}>{v}</span>;

const STATUS_LABEL: Record<string, string> = {
  pending_review: "pending review",
  changes_requested: "changes requested",
  request_changes: "request changes",
};
export const label = (s: string) => STATUS_LABEL[s] ?? s.replaceAll("_", " ");

export const Status = ({ s }: { s: string }) => <span class={`badge status-${s}`}>{label(s)}</span>;

/** A disabled button and, beside it, why the server would refuse the action. */
export function Refused({ label: text, state, id }: { label: string; state: ActionState; id: string }) {
  if (state.allowed) return null;
  return (
    <div class="refused">
      <button type="button" disabled aria-describedby={`${id}-why`}>
        {text}
      </button>
      <p class="reason" id={`${id}-why`}>
        {state.reason}
      </p>
    </div>
  );
}

export function FieldErrors({ errors }: { errors?: FieldError[] }) {
  if (!errors || errors.length === 0) return null;
  return (
    <ul class="field-errors" role="alert">
      {errors.map((e) => (
        <li>
          <code>{e.path}</code>: {e.message}
        </li>
      ))}
    </ul>
  );
}

export function Notice({ kind, children }: { kind: "ok" | "error" | "info"; children?: Child }) {
  return (
    <p class={`notice notice-${kind}`} role={kind === "error" ? "alert" : "status"}>
      {children}
    </p>
  );
}

const INVISIBLE = /[\u0000-\u0008\u000b-\u001f\u007f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g;

/** Text with invisible characters shown as ⟨U+XXXX⟩ (tabs and line breaks are kept). */
export const visible = (s: string): string =>
  s.replace(INVISIBLE, (ch) => `⟨U+${ch.codePointAt(0)?.toString(16).toUpperCase().padStart(4, "0")}⟩`);

export const fmtBytes = (n: number) =>
  n < 1024 ? `${n} B` : n < 1024 ** 2 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 ** 2).toFixed(1)} MiB`;

export const fmtTime = (iso: string | null | undefined) => (iso ? iso.replace("T", " ").slice(0, 16) : "—");

/** "3 h", "2 d": how long ago. */
export function fmtAge(fromIso: string, now: Date): string {
  const m = Math.max(0, Math.round((now.getTime() - Date.parse(fromIso)) / 60_000));
  if (m < 60) return `${m} min`;
  if (m < 48 * 60) return `${Math.round(m / 60)} h`;
  return `${Math.round(m / 1440)} d`;
}

/** @jsxImportSource hono/jsx */
/**
 * Sending pages: the doctype, a status, and the error page every refusal becomes. A DomainError shows its
 * message (safe by construction: no data values) with the status the API would give; anything else is a
 * 500 with a reference that the log line carries too.
 */
import { randomUUID } from "node:crypto";
import { DomainError } from "@spe/core";
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { Child } from "hono/jsx";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { STATUS_BY_KIND } from "../problem";
import { csrfToken } from "./csrf";
import { Layout } from "./layout";
import type { ResolvedConsoleOptions } from "./options";
import type { ConsoleEnv } from "./session";

type Ctx = Context<ConsoleEnv>;

/** Renders `body` as a full HTML page. */
export async function send(c: Context, body: Child, status: ContentfulStatusCode = 200): Promise<Response> {
  return c.html(`<!doctype html>${await (body as Promise<string> | string)}`, status);
}

/** The frame's signed-in parts (actor, CSRF token for the sign-out form), when there is a session. */
export function frameOf(c: Ctx, o: ResolvedConsoleOptions) {
  const session = c.get("session");
  return session ? { actor: c.get("actor"), csrf: csrfToken(o.sessionKey, session.sid) } : {};
}

export function ErrorPage(props: { status: number; title: string; detail: string; code?: string; children?: Child }) {
  return (
    <section class="error-page">
      <h1>{props.title}</h1>
      <p class="reason">{props.detail}</p>
      {props.code ? (
        <p>
          <small>
            code <code>{props.code}</code> · HTTP {props.status}
          </small>
        </p>
      ) : null}
      {props.children}
      <p>
        <a href="/console">Back to the console</a>
      </p>
    </section>
  );
}

const TITLE: Record<number, string> = {
  400: "That did not work",
  401: "Sign in first",
  403: "Not allowed",
  404: "Not found",
  409: "No longer possible",
  410: "Gone",
  413: "Too large",
  503: "Unavailable",
};

/** The page for a refusal or a failure. `log` receives unexpected errors (never data values). */
export async function errorResponse(
  c: Ctx,
  o: ResolvedConsoleOptions,
  err: unknown,
  log: (line: Record<string, string>) => void,
): Promise<Response> {
  let status: ContentfulStatusCode = 500;
  let detail: string;
  let code: string | undefined;
  if (err instanceof DomainError) {
    status = STATUS_BY_KIND[err.kind];
    detail = err.message;
    code = err.code;
  } else if (err instanceof HTTPException && err.status < 500) {
    status = err.status as ContentfulStatusCode;
    detail = err.message || "the request could not be read";
  } else {
    const ref = randomUUID();
    log({
      msg: "unexpected console error",
      ref,
      error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
    });
    detail = `an unexpected error occurred (reference ${ref}); nothing was changed that is not in the audit trail`;
  }
  const title = TITLE[status] ?? "Something went wrong";
  return send(
    c,
    <Layout title={title} {...frameOf(c, o)}>
      <ErrorPage status={status} title={title} detail={detail} code={code} />
    </Layout>,
    status,
  );
}

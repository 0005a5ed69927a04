/**
 * RFC 9457 problem+json responses, and the single mapping from DomainError kinds to HTTP statuses.
 * Nothing here ever shows a stack trace; an unexpected error becomes a bare 500 with a correlation id.
 */
import { DomainError, type ErrorKind, type FieldError } from "@spe/core";
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";

export const STATUS_BY_KIND: Record<ErrorKind, ContentfulStatusCode> = {
  validation: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  gone: 410,
  unavailable: 503,
};

const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  errors?: FieldError[];
}

export function problem(status: number, code: string, detail: string, errors?: FieldError[]): Problem {
  return {
    type: `https://spe.example/problems/${code.replaceAll(".", "/")}`,
    title: TITLES[status] ?? "Error",
    status,
    detail,
    code,
    ...(errors ? { errors } : {}),
  };
}

export function problemResponse(c: Context, p: Problem, headers: Record<string, string> = {}): Response {
  return c.body(JSON.stringify(p), p.status as ContentfulStatusCode, {
    "Content-Type": "application/problem+json",
    ...headers,
  });
}

const HTTP_CODES: Record<number, string> = {
  400: "request.malformed",
  401: "auth.unauthenticated",
  404: "route.not_found",
  405: "route.method_not_allowed",
  413: "request.too_large",
  415: "request.unsupported_media_type",
};

/** Maps any thrown value to a problem. `onUnexpected` logs what the caller must not see. */
export function toProblem(err: unknown, onUnexpected: (err: unknown) => string): Problem {
  if (err instanceof DomainError) {
    return problem(STATUS_BY_KIND[err.kind], err.code, err.message, err.errors);
  }
  if (err instanceof HTTPException && err.status < 500) {
    const detail = err.status === 400 ? "the request body is not valid JSON" : err.message || TITLES[err.status] || "";
    return problem(err.status, HTTP_CODES[err.status] ?? "request.invalid", detail);
  }
  const ref = onUnexpected(err);
  return problem(
    500,
    "internal",
    `an unexpected error occurred (reference ${ref}); nothing was changed that is not in the audit trail`,
  );
}

/** zod issues → the `errors` array of a 400. */
export function fieldErrors(issues: readonly { path: PropertyKey[]; message: string }[]): FieldError[] {
  return issues.map((i) => ({ path: i.path.map(String).join(".") || "(body)", message: i.message }));
}

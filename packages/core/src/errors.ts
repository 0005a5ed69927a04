/**
 * Typed domain errors. Every error a use case throws is a DomainError with a stable `code`
 * (`workspace.not_ready`, `permit.not_active`, ...) and a `kind` that the API maps to an HTTP status.
 * Messages are safe to show to the caller: they never carry data values.
 */

export type ErrorKind =
  | "validation" // 400
  | "unauthenticated" // 401
  | "forbidden" // 403
  | "not_found" // 404
  | "conflict" // 409
  | "too_large" // 413
  | "gone" // 410
  | "unavailable"; // 503

export interface FieldError {
  path: string;
  message: string;
}

export class DomainError extends Error {
  constructor(
    readonly kind: ErrorKind,
    readonly code: string,
    message: string,
    readonly errors?: FieldError[],
  ) {
    super(message);
    this.name = "DomainError";
  }

  /** Set once the refusal has been written to the audit trail, so it is recorded once. */
  audited = false;
}

export class ValidationError extends DomainError {
  constructor(code: string, message: string, errors?: FieldError[]) {
    super("validation", code, message, errors);
  }
}

export class ForbiddenError extends DomainError {
  constructor(code: string, message: string) {
    super("forbidden", code, message);
  }
}

/** Thrown both for what does not exist and for what the caller may not see: the two are indistinguishable. */
export class NotFoundError extends DomainError {
  constructor(entity: string, id: string) {
    super("not_found", `${entity}.not_found`, `${entity} ${id} was not found`);
  }
}

export class ConflictError extends DomainError {
  constructor(code: string, message: string) {
    super("conflict", code, message);
  }
}

/** A conditional write lost a race: the item changed (or appeared) since it was read. */
export class ConcurrentUpdateError extends ConflictError {
  constructor(entity: string, id: string) {
    super("conflict.concurrent_update", `${entity} ${id} was changed by another request; retry`);
  }
}

/** The audit trail could not be written: the action it would have recorded did not happen. */
export class AuditUnavailableError extends DomainError {
  constructor(options?: { cause?: unknown }) {
    super("unavailable", "audit.unavailable", "the audit trail could not be written, so the action was not performed");
    if (options?.cause !== undefined) this.cause = options.cause;
  }
}

export class TooLargeError extends DomainError {
  constructor(code: string, message: string) {
    super("too_large", code, message);
  }
}

/** This deployment cannot do it now (a missing sandbox tool, a key service down); the message says how to fix it. */
export class UnavailableError extends DomainError {
  constructor(code: string, message: string) {
    super("unavailable", code, message);
  }
}

/** Existed, but no longer usable (an expired or used-up download link). */
export class GoneError extends DomainError {
  constructor(code: string, message: string) {
    super("gone", code, message);
  }
}

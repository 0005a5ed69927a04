/** Errors of the staging primitives: the ones that are not plain validation errors. */
import { DomainError } from "../errors";

/**
 * Staged bytes failed an integrity check: an encrypted file was altered, truncated, reordered, opened with
 * another key or under another name, or a stored identifier set is corrupt. The data cannot be served, so
 * the kind is `unavailable`; the message says where the check failed (which chunk), never what the data is.
 */
export class IntegrityError extends DomainError {
  constructor(message: string) {
    super("unavailable", "staging.integrity", message);
    this.name = "IntegrityError";
  }
}

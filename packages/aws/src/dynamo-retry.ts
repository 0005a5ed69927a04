/**
 * What to do when a DynamoDB call fails: which errors are worth another attempt, how long to wait, and the
 * errors the Store adds to core's. Every retry loop in the Store is bounded by a RetryPolicy.
 */
import { TooLargeError, UnavailableError } from "@spe/core";

export interface RetryPolicy {
  /** Attempts of a commit that lost the race for the audit chain head (or met a transaction conflict). */
  raceAttempts: number;
  /** Attempts after throttling, a server error or a lost connection (on top of the SDK's own retries). */
  transientAttempts: number;
  /** Backoff after a lost race: full jitter up to min(raceMaxDelayMs, raceBaseDelayMs * 2^attempt). */
  raceBaseDelayMs: number;
  raceMaxDelayMs: number;
  /** Backoff after a transient failure, likewise. */
  transientBaseDelayMs: number;
  transientMaxDelayMs: number;
  sleep: (ms: number) => Promise<void>;
  random: () => number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  raceAttempts: 40,
  transientAttempts: 6,
  raceBaseDelayMs: 2,
  raceMaxDelayMs: 50,
  transientBaseDelayMs: 25,
  transientMaxDelayMs: 1000,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: Math.random,
};

/** Waits before attempt `attempt + 1` (attempt >= 1). */
export function backoff(p: RetryPolicy, kind: "race" | "transient", attempt: number): Promise<void> {
  const base = kind === "race" ? p.raceBaseDelayMs : p.transientBaseDelayMs;
  const max = kind === "race" ? p.raceMaxDelayMs : p.transientMaxDelayMs;
  return p.sleep(Math.floor(p.random() * Math.min(max, base * 2 ** Math.min(attempt, 20))));
}

/** Errors after which the same request may succeed (and after which a write may or may not have happened). */
const TRANSIENT_NAMES = new Set([
  "ThrottlingException",
  "ProvisionedThroughputExceededException",
  "RequestLimitExceeded",
  "InternalServerError",
  "ServiceUnavailable",
  "TransactionInProgressException",
  "TransactionConflictException",
  "RequestTimeout",
  "RequestTimeoutException",
  "TimeoutError",
]);
const NETWORK_CODES = new Set(["ECONNRESET", "ECONNREFUSED", "ETIMEDOUT", "EPIPE", "EAI_AGAIN", "ENOTFOUND"]);

/** Cancellation reason codes that mean "try again later", not "your condition failed". */
export const THROTTLED_CODES = new Set(["ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"]);
/** Cancellation reason codes that no retry can fix. */
export const FATAL_CODES = new Set(["ValidationError", "ItemCollectionSizeLimitExceeded"]);

export type Failure =
  | { type: "cancelled"; codes: string[] | null }
  | { type: "condition" }
  | { type: "transient" }
  | { type: "fatal" };

interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  $fault?: unknown;
  $metadata?: unknown;
  CancellationReasons?: { Code?: string }[];
}

export function classify(err: unknown): Failure {
  const e = (typeof err === "object" && err !== null ? err : {}) as SdkErrorShape;
  if (e.name === "TransactionCanceledException") {
    return {
      type: "cancelled",
      codes: e.CancellationReasons ? e.CancellationReasons.map((r) => r.Code ?? "None") : null,
    };
  }
  if (e.name === "ConditionalCheckFailedException") return { type: "condition" };
  if (typeof e.name === "string" && TRANSIENT_NAMES.has(e.name)) return { type: "transient" };
  if (e.$fault === "server") return { type: "transient" };
  if (typeof e.code === "string" && NETWORK_CODES.has(e.code)) return { type: "transient" };
  return { type: "fatal" };
}

/** Runs a read, retrying transient failures; they surface as `store.unavailable` (503), others as they are. */
export async function readWithRetry<T>(p: RetryPolicy, read: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await read();
    } catch (err) {
      if (classify(err).type !== "transient") throw err;
      if (attempt >= p.transientAttempts) throw new StoreUnavailableError(err);
      await backoff(p, "transient", attempt);
    }
  }
}

/** DynamoDB kept failing a read (throttling, server errors): the caller may retry later. */
export class StoreUnavailableError extends UnavailableError {
  constructor(cause: unknown) {
    super("store.unavailable", "the state store is unavailable (throttled or failing); retry later");
    this.cause = cause;
  }
}

/** DynamoDB transactions hold at most 100 items of at most 400 KB, and 4 MB in all. */
export const MAX_TRANSACTION_ITEMS = 100;
export const MAX_ITEM_BYTES = 400 * 1024;
export const MAX_TRANSACTION_BYTES = 4 * 1024 * 1024;

/**
 * A commit that cannot fit in one DynamoDB transaction. Refused before anything is sent: splitting it
 * would break the all-or-nothing promise of `Store.commit`.
 */
export class CommitTooLargeError extends TooLargeError {
  constructor(what: string) {
    super(
      "store.commit_too_large",
      `this change cannot be applied atomically: ${what}; DynamoDB transactions hold at most ${MAX_TRANSACTION_ITEMS} items ` +
        "(entity writes + audit records + the chain head + the idempotency record), 400 KB each and 4 MB in all",
    );
  }
}

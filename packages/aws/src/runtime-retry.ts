/**
 * Retries of the workspace runtime's AWS calls when AWS throttles or is briefly unavailable. The SDK
 * clients retry too (three attempts by default); this outer loop, with a longer backoff, is what lets a
 * burst of job starts or a workspace teardown ride out a throttled account instead of failing a job.
 * When it gives up it says so with an UnavailableError (503) that tells the caller to retry.
 */
import { UnavailableError } from "@spe/core";

/** Error names AWS services use for throttling and transient unavailability. */
const TRANSIENT = new Set([
  "ThrottlingException",
  "Throttling",
  "TooManyRequestsException",
  "RequestLimitExceeded",
  "SlowDown",
  "ServiceUnavailable",
  "ServiceUnavailableException",
  "ServerException",
  "InternalError",
  "InternalFailure",
  "ServiceFailureException",
  "ConcurrentModificationException",
]);

interface AwsLikeError {
  name?: string;
  $retryable?: { throttling?: boolean };
  $metadata?: { httpStatusCode?: number };
}

/** Whether retrying the same request later may succeed. */
export function isTransient(err: unknown): boolean {
  if (!err || typeof err !== "object") return false;
  const e = err as AwsLikeError;
  if (e.name && TRANSIENT.has(e.name)) return true;
  if (e.$retryable) return true;
  const status = e.$metadata?.httpStatusCode;
  return status === 429 || status === 502 || status === 503 || status === 504;
}

export interface RetryOptions {
  /** Tries in all. @default 5 */
  attempts?: number;
  /** First backoff; doubled each time, with full jitter, capped at 10 s. @default 250 */
  baseDelayMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** Also retry these (e.g. a just-created role ECS cannot assume yet). */
  alsoRetry?: (err: unknown) => boolean;
}

export const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Runs `op`, retrying transient failures.
 * @throws UnavailableError `runtime.aws_busy` naming `what` once the attempts are used up; any other
 * error as it is, at once.
 */
export async function retrying<T>(what: string, op: () => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const attempts = opts.attempts ?? 5;
  const base = opts.baseDelayMs ?? 250;
  const sleep = opts.sleep ?? realSleep;
  for (let attempt = 1; ; attempt++) {
    try {
      return await op();
    } catch (err) {
      const again = isTransient(err) || (opts.alsoRetry?.(err) ?? false);
      if (!again) throw err;
      if (attempt >= attempts) {
        const e = new UnavailableError(
          "runtime.aws_busy",
          `AWS did not accept ${what} after ${attempts} attempts (${(err as AwsLikeError).name ?? "error"}); retry in a minute`,
        );
        e.cause = err;
        throw e;
      }
      await sleep(Math.random() * Math.min(10_000, base * 2 ** (attempt - 1)));
    }
  }
}

/**
 * Fault injection for the in-memory AWS fakes (fake-s3.ts, fake-kms.ts): make the n-th call of a command
 * fail with a realistic service error, before its effect (a throttled request did nothing) or after it
 * (the request was applied but its response was lost). Plus the errors the services really throw.
 */
import { KMSServiceException } from "@aws-sdk/client-kms";
import { S3ServiceException } from "@aws-sdk/client-s3";

export interface FaultOptions {
  /** How many calls fail. @default 1 */
  times?: number;
  /** Calls of the command let through before the first failure. @default 0 */
  skip?: number;
  /** Only calls whose input matches count (skipped and failed). */
  when?: (input: unknown) => boolean;
  /** Apply the call's effect, then fail (a lost response). @default false */
  after?: boolean;
}

interface Rule extends Required<Omit<FaultOptions, "when">> {
  command: string;
  error: () => Error;
  when?: (input: unknown) => boolean;
}

export class Faults {
  private rules: Rule[] = [];
  private readonly observers: ((command: string, input: unknown) => void)[] = [];
  /** Every call seen, in order: the command name and its input. */
  readonly calls: { command: string; input: unknown }[] = [];

  /** Makes calls of `command` (e.g. `UploadPart`) fail with `error()`. */
  fail(command: string, error: () => Error, o: FaultOptions = {}): void {
    this.rules.push({ command, error, times: o.times ?? 1, skip: o.skip ?? 0, after: o.after ?? false, when: o.when });
  }

  /** Calls `fn` on every call, before it runs (e.g. to see how much of a body was read by then). */
  observe(fn: (command: string, input: unknown) => void): void {
    this.observers.push(fn);
  }

  clear(): void {
    this.rules = [];
  }

  /** How many calls of `command` were made. */
  count(command: string): number {
    return this.calls.filter((c) => c.command === command).length;
  }

  /** Records the call and returns the error it must fail with, if any, and when. */
  take(command: string, input: unknown): { error: Error; after: boolean } | null {
    this.calls.push({ command, input });
    for (const fn of this.observers) fn(command, input);
    for (const r of this.rules) {
      if (r.command !== command || r.times <= 0 || (r.when && !r.when(input))) continue;
      if (r.skip > 0) {
        r.skip--;
        continue;
      }
      r.times--;
      return { error: r.error(), after: r.after };
    }
    return null;
  }

  /** Runs `effect` under the faults of `command`. */
  async run<T>(command: string, input: unknown, effect: () => T | Promise<T>): Promise<T> {
    const fault = this.take(command, input);
    if (fault && !fault.after) throw fault.error;
    const result = await effect();
    if (fault) throw fault.error;
    return result;
  }
}

/** S3's throttling answer: 503 SlowDown. */
export const slowDown = () =>
  new S3ServiceException({
    name: "SlowDown",
    $fault: "server",
    $metadata: { httpStatusCode: 503 },
    message: "Please reduce your request rate.",
  });

/** A generic S3 error with a code and status, e.g. `s3Error("AccessDenied", 403, "Access Denied")`. */
export const s3Error = (name: string, status: number, message: string) =>
  new S3ServiceException({
    name,
    $fault: status >= 500 ? "server" : "client",
    $metadata: { httpStatusCode: status },
    message,
  });

/** KMS's throttling answer (not a modeled exception in the KMS client: a named service exception). */
export const kmsThrottling = () =>
  new KMSServiceException({
    name: "ThrottlingException",
    $fault: "client",
    $metadata: { httpStatusCode: 400 },
    message: "Rate exceeded",
  });

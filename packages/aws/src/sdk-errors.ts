/**
 * Recognising AWS SDK errors by name. The SDK throws modeled exception classes, but several copies of a
 * client can be installed side by side (the stacks' tooling pins others), so `instanceof` is unreliable:
 * the error's `name` (the service's error code) is what identifies it.
 */

/** The service error code of an SDK error (`NoSuchKey`, `KMSInvalidStateException`, ...), if any. */
export function errorName(err: unknown): string | undefined {
  if (typeof err !== "object" || err === null) return undefined;
  const name = (err as { name?: unknown }).name;
  return typeof name === "string" ? name : undefined;
}

/** Whether `err` is one of the named service errors. */
export function isError(err: unknown, ...names: string[]): boolean {
  const name = errorName(err);
  return name !== undefined && names.includes(name);
}

/** Waits `ms` milliseconds (between attempts of a cleanup that must not be given up at once). */
export const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs a cleanup step up to `attempts` times, backing off between attempts; `done` errors (e.g. "already
 * gone") count as success. The SDK already retries throttling inside each call; this covers the case where
 * those retries ran out while something must still be undone.
 * @throws the last error when every attempt failed.
 */
export async function cleanup(step: () => Promise<unknown>, done: string[], attempts = 3): Promise<void> {
  for (let i = 1; ; i++) {
    try {
      await step();
      return;
    } catch (err) {
      if (isError(err, ...done)) return;
      if (i >= attempts) throw err;
      await pause(50 * 2 ** i);
    }
  }
}

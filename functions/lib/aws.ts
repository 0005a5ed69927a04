/**
 * What every Lambda entrypoint shares: the deployment's configuration, read and checked once per cold
 * start, the composed AWS adapters, and a structured log line (ids, counts and codes only: never data values,
 * never a token or a link).
 */
import { type AwsDeps, composeAws, readAwsConfig } from "@spe/aws";

export type LogValue = string | number | boolean | undefined;

export function log(line: Record<string, LogValue>): void {
  console.log(JSON.stringify({ at: new Date().toISOString(), ...line }));
}

export const errorOf = (err: unknown): Record<string, LogValue> =>
  err instanceof Error
    ? { error: err.name, code: (err as { code?: string }).code, message: err.message.slice(0, 500) }
    : { error: String(err).slice(0, 500) };

let composed: AwsDeps | undefined;

/** The adapters, composed on first use (so a function's import stays cheap and makes no AWS call). */
export function aws(): AwsDeps {
  composed ??= composeAws(readAwsConfig(), {
    onError: (what, err, ctx) => log({ msg: `${what} failed`, ...ctx, ...errorOf(err) }),
  });
  return composed;
}

/**
 * What every Lambda entrypoint shares: the deployment's configuration, read and checked once per cold
 * start, the composed AWS adapters, and a structured log line (ids, counts and codes only: never data values,
 * never a token or a link).
 */
import { type AwsConfig, type AwsDeps, composeAws, readAwsConfig } from "@spe/aws";
import { DomainError } from "@spe/core";

export type LogValue = string | number | boolean | undefined;

export function log(line: Record<string, LogValue>): void {
  console.log(JSON.stringify({ at: new Date().toISOString(), ...line }));
}

/**
 * An error as a log line: its class and code, and its message only when it is one of core's (those are written
 * to be shown). Other messages (the SDK's, say) can quote object keys, which hold researchers' file names.
 */
export const errorOf = (err: unknown): Record<string, LogValue> =>
  err instanceof DomainError
    ? { error: err.name, code: err.code, message: err.message.slice(0, 500) }
    : err instanceof Error
      ? { error: err.name, code: (err as { code?: string }).code }
      : { error: typeof err };

let configured: AwsConfig | undefined;
let composed: AwsDeps | undefined;

/** The deployment's configuration, read from the environment once per cold start. */
export function config(): AwsConfig {
  configured ??= readAwsConfig(process.env);
  return configured;
}

/** The adapters, composed on first use (so a function's import stays cheap and makes no AWS call). */
export function aws(): AwsDeps {
  composed ??= composeAws(config(), {
    onError: (what, err, ctx) => log({ msg: `${what} failed`, ...ctx, ...errorOf(err) }),
  });
  return composed;
}

/**
 * The agent's configuration: its argv and the environment the runtime set on the container (see
 * protocol.ts), checked before anything else happens. Node builtins only: bundled into the agent.
 */
import type { AgentConfig } from "./agent";
import { AGENT_COMMAND, AGENT_ENV } from "./protocol";

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const PREFIX = /^permits\/[A-Za-z0-9][A-Za-z0-9._-]{0,127}\/workspaces\/ws-[0-9a-z]{1,64}\/$/;
const JOB_ID = /^job-[0-9a-z]{1,64}$/;
const MAX_TIMEOUT_SECONDS = 30 * 24 * 3600;

export class AgentConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AgentConfigError";
  }
}

function integer(env: Record<string, string | undefined>, name: string, min: number, max: number): number {
  const raw = env[name] ?? "";
  const n = /^\d{1,16}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new AgentConfigError(`${name} must be an integer from ${min} to ${max}`);
  }
  return n;
}

function matching(env: Record<string, string | undefined>, name: string, pattern: RegExp): string {
  const value = env[name] ?? "";
  if (!pattern.test(value)) throw new AgentConfigError(`${name} is missing or malformed`);
  return value;
}

/**
 * @throws AgentConfigError naming the variable (never its value) when something is missing or malformed.
 */
export function readAgentConfig(env: Record<string, string | undefined>, argv: string[]): AgentConfig {
  if (argv.length !== AGENT_COMMAND.length || argv.some((a, i) => a !== AGENT_COMMAND[i])) {
    throw new AgentConfigError(`the agent's arguments must be ${JSON.stringify(AGENT_COMMAND)}`);
  }
  return {
    bucket: matching(env, AGENT_ENV.bucket, BUCKET),
    prefix: matching(env, AGENT_ENV.prefix, PREFIX),
    jobId: matching(env, AGENT_ENV.jobId, JOB_ID),
    timeoutSeconds: integer(env, AGENT_ENV.timeoutSeconds, 1, MAX_TIMEOUT_SECONDS),
    outputsQuotaBytes: integer(env, AGENT_ENV.outputsQuotaBytes, 1, Number.MAX_SAFE_INTEGER),
    kmsKeyId: matching(env, AGENT_ENV.kmsKeyId, /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(alias|key)\/[\w/+=,.@-]+$/),
  };
}

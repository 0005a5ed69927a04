/**
 * The workspace image's entrypoint (bundled to /opt/spe/agent.mjs by workspace-image/Dockerfile): reads its
 * configuration, runs one job (agent.ts) and exits with the agent's verdict (protocol.ts AGENT_EXIT).
 * It must run as root, so the job can run as the unprivileged `researcher` user that cannot read the
 * agent's environment (the task role's credentials endpoint). SIGTERM (ECS StopTask) cancels the job.
 */
import { chmod } from "node:fs/promises";
import { S3Client } from "@aws-sdk/client-s3";
import { type AgentConfig, runAgent } from "./agent";
import { AgentConfigError, readAgentConfig } from "./config";
import { agentLine } from "./framing";
import { AGENT_EXIT, JOB_UID } from "./protocol";

const WORKSPACE = "/workspace";

const emit = (line: string) => {
  process.stdout.write(`${line}\n`); // synchronous on a pipe (Linux), so nothing is lost at exit
};

function refuse(reason: string, code: number = AGENT_EXIT.misconfigured): number {
  const now = new Date().toISOString();
  emit(
    agentLine({
      event: "end",
      outcome: "failed",
      exitCode: null,
      signal: null,
      reason,
      startedAt: now,
      finishedAt: now,
    }),
  );
  return code;
}

async function main(): Promise<number> {
  let cfg: AgentConfig;
  try {
    cfg = readAgentConfig(process.env, process.argv.slice(2));
  } catch (err) {
    if (err instanceof AgentConfigError) return refuse(`the agent is misconfigured: ${err.message}`);
    throw err;
  }
  if (process.getuid?.() !== 0) {
    // As any other user the job would share the agent's uid and could read its credentials.
    return refuse("the agent must run as root to run the job as an unprivileged user");
  }
  // /tmp may be a fresh task volume (read-only root file system), created root's 0755: the job needs it.
  await chmod("/tmp", 0o1777).catch(() => {});
  const cancel = new AbortController();
  for (const signal of ["SIGTERM", "SIGINT"] as const) process.on(signal, () => cancel.abort());
  const s3 = new S3Client({ maxAttempts: 6 });
  return runAgent(cfg, {
    s3,
    root: WORKSPACE,
    owner: { uid: JOB_UID, gid: JOB_UID },
    emit,
    cancel: cancel.signal,
  });
}

main().then(
  (code) => process.exit(code),
  (err: unknown) =>
    process.exit(refuse(`the agent failed (${err instanceof Error ? err.name : "error"})`, AGENT_EXIT.syncFailed)),
);

/**
 * Placeholder ports for the Lambda API until the AWS adapters (DynamoDB store and audit log, KMS signer,
 * ECS runtime, EventBridge Scheduler ...) land with the AWS issue. Every port answers with a DomainError of
 * kind "unavailable", which the API maps to a 503 problem+json: /health and /openapi.json work on Lambda and
 * every /v1 route says plainly why it cannot answer yet.
 */
import type { ApiDeps } from "@spe/api";
import { DEFAULT_POLICY, DomainError } from "@spe/core";

/** The error every pending port throws. */
export function adapterPending(): DomainError {
  return new DomainError(
    "unavailable",
    "aws.adapter_pending",
    "the AWS adapters for this port land with the AWS issue; run the single-node SPE (npm start) meanwhile",
  );
}

const fails = (): never => {
  throw adapterPending();
};
const rejects = async (): Promise<never> => fails();

/**
 * Deps for `createApp` where only what needs no AWS adapter is real: token verification, the clock and logging.
 * @example createApp(unavailableDeps({ verifyToken, clock: { now: () => new Date() }, log: console.log }))
 */
export function unavailableDeps(live: Pick<ApiDeps, "verifyToken" | "clock" | "log">): ApiDeps {
  return {
    ...live,
    store: { get: rejects, list: rejects, commit: rejects, getIdempotency: rejects },
    audit: { query: rejects, scan: fails, head: rejects, appendSeal: rejects, seals: rejects },
    signer: { verify: rejects },
    // The id generator lives in @spe/local, which would bring better-sqlite3 into the bundle; every use case that
    // asks for an id writes to the (pending) store next anyway.
    ids: { next: fails },
    sources: { check: rejects, files: rejects, read: fails },
    runtime: {
      isolation: "fargate",
      assertAvailable: fails,
      start: rejects,
      stop: rejects,
      stopJobs: rejects,
      exists: rejects,
      startJob: rejects,
      jobRunning: fails,
      writeHome: rejects,
      listFiles: rejects,
      statOutput: rejects,
      readOutput: fails,
    },
    scheduler: { scheduleExpiry: rejects, cancel: rejects },
    dispatcher: { dispatch: fails },
    keys: { createPermitKey: rejects, permitKeys: rejects, destroyPermitKey: rejects },
    objects: { put: rejects, get: fails, list: rejects, deletePrefix: rejects },
    policy: DEFAULT_POLICY,
  };
}

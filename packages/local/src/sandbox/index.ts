/** The process sandbox that runs one job of a workspace (bubblewrap + rlimits, or the unsafe dev mode). */

export {
  BWRAP_INSTALL,
  bwrapArgs,
  bwrapOptions,
  bwrapPath,
  bwrapRecentEnough,
  bwrapVersion,
  ETC_FILES,
  findExecutable,
  hostSystemDirs,
  MERGED_USR,
  MIN_BWRAP_VERSION,
  SANDBOX_ENV,
  SANDBOX_WORKSPACE,
  SHM_BYTES,
  SYSTEM_PATH,
  type SystemDirs,
} from "./bwrap";
export { treeBytes } from "./disk-usage";
export {
  ADDRESS_SPACE_HEADROOM_MIB,
  type Isolation,
  type RunningJob,
  resolveJob,
  SANDBOX_DEFAULTS,
  SandboxError,
  type SandboxErrorCode,
  type SandboxJob,
  type SandboxOutcome,
  type SandboxResult,
} from "./job";
export { addressSpaceBytes, prlimitArgs } from "./limits";
export { assertSandboxAvailable, JOB_NICENESS, QUOTA_POLL_MS, runSandboxed, type SandboxTools } from "./run";

/**
 * Resource limits of a job as `prlimit` (util-linux) arguments. rlimits are the baseline because they
 * work on every Linux, as any user, with or without cgroups; they are set on the process that then execs
 * bubblewrap (or the command), so the job and everything it forks inherit them and cannot raise them.
 *
 * RLIMIT_NPROC is checked against all processes of the job's real uid. With a uid per workspace (the
 * controller runs as root) it caps that workspace's jobs together. Without one (controller not root) the
 * jobs run as the controller's user and the count includes every process of that user, the controller's
 * threads too: the cap is then shared, and a busy user may need a higher `maxProcesses`.
 */
import { ADDRESS_SPACE_HEADROOM_MIB, type ResolvedJob } from "./job";

const MiB = 1024 * 1024;

/** The address-space limit in bytes for a job with `memoryMiB`. */
export const addressSpaceBytes = (memoryMiB: number): number => (memoryMiB + ADDRESS_SPACE_HEADROOM_MIB) * MiB;

/** `prlimit` options (soft = hard, so the job cannot raise them back) for a resolved job. */
export function prlimitArgs(job: ResolvedJob): string[] {
  return [
    `--as=${addressSpaceBytes(job.memoryMiB)}`,
    `--nproc=${job.maxProcesses}`,
    `--fsize=${job.maxFileBytes}`,
    "--core=0", // a core dump of a job holds its data: it must not land anywhere
  ];
}

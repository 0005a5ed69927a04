/**
 * The sweeper, on a cron: terminates overdue workspaces (when a schedule was lost), finishes interrupted
 * terminations, processes permit expiry and crypto-shreds permits past their grace period. Not the node's
 * start-up sweep: on AWS, jobs run in ECS and outlive any one Lambda, so none is failed as orphaned here.
 */
import { AWS_SWEEP } from "@spe/aws";
import { sweep } from "@spe/core";
import { aws, errorOf, log } from "./lib/aws";

export async function handler(): Promise<Record<string, number>> {
  const report = await sweep(aws().deps, AWS_SWEEP);
  for (const f of report.failures) log({ msg: "sweep step failed", target: f.target, ...errorOf(f.error) });
  const { failures, ...counts } = report;
  log({ msg: "sweep", ...counts, failures: failures.length });
  return { ...counts, failures: failures.length };
}

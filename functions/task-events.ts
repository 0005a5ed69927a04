/**
 * ECS task state changes of the workspace cluster (EventBridge rule: STOPPED): records the job's end
 * (outcome, exit code, its stdout/stderr read from CloudWatch Logs and stored encrypted under the permit key),
 * starts the next queued job, then deletes the plaintext log stream. Events that are not a job of ours are
 * ignored.
 */
import { logsClient } from "@spe/aws/logs-client";
import { deleteJobLogStream, jobEndFromTaskEvent } from "@spe/aws/task-events";
import { Job } from "@spe/core";
import { aws, config as configOf, log } from "./lib/aws";

const config = configOf();
const logs = logsClient();

export async function handler(event: unknown): Promise<{ jobId: string | null }> {
  const a = aws();
  const taskLogs = { ...a.taskLogs, logs };
  const end = await jobEndFromTaskEvent(event, { ...taskLogs, clusterArn: config.SPE_CLUSTER_ARN });
  if (!end) return { jobId: null };
  const job = await Job.finish(a.deps, end.workspaceId, end.jobId, end.result);
  log({ msg: "job ended", workspaceId: end.workspaceId, jobId: end.jobId, status: job?.status });
  // Only once the output is stored under the permit key (or there is no such job to keep it for): CloudWatch's
  // copy is plaintext. If recording failed, Job.finish threw and the event is retried with the stream intact.
  await deleteJobLogStream(taskLogs, end.logStreamName);
  return { jobId: end.jobId };
}

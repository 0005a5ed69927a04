/**
 * Provisions one workspace (invoked asynchronously by the API): stages the permit's datasets (pseudonymised,
 * encrypted under the permit key) and starts its area in the workspaces bucket. A failure marks the
 * workspace `failed` with its reason (core does), so Lambda's own async retries find nothing left to do.
 */
import { Workspace } from "@spe/core";
import { z } from "zod";
import { aws, errorOf, log } from "./lib/aws";

const Task = z.strictObject({ type: z.literal("workspace.provision"), workspaceId: z.string().min(1).max(128) });

export async function handler(event: unknown): Promise<{ workspaceId: string; status: string | null }> {
  const task = Task.parse(event);
  try {
    const ws = await Workspace.provision(aws().deps, task.workspaceId);
    log({ msg: "provisioned", workspaceId: task.workspaceId, status: ws?.status });
    return { workspaceId: task.workspaceId, status: ws?.status ?? null };
  } catch (err) {
    log({ msg: "provision failed", workspaceId: task.workspaceId, ...errorOf(err) });
    throw err;
  }
}

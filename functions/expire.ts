/**
 * Expires one workspace at its `expiresAt`: the target of its one-time EventBridge Scheduler schedule
 * (input `{"workspaceId": ...}`). Idempotent: an already terminated workspace is left as it is, and the
 * sweeper is the backstop when a schedule is lost.
 */
import { Workspace } from "@spe/core";
import { z } from "zod";
import { aws, log } from "./lib/aws";

const Input = z.object({ workspaceId: z.string().min(1).max(128) });

export async function handler(event: unknown): Promise<{ workspaceId: string; expired: boolean }> {
  const { workspaceId } = Input.parse(event);
  const expired = Boolean(await Workspace.expire(aws().deps, workspaceId));
  log({ msg: "expire", workspaceId, expired });
  return { workspaceId, expired };
}

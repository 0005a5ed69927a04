/**
 * WorkspaceRuntime backed by directories: each workspace gets `data/`, `home/` and `outputs/` under
 * `<root>/<workspaceId>`, mode 0700, removed at termination. Jobs, bubblewrap isolation and encrypted
 * staging build on this in the isolation issue.
 */
import { chmod, mkdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { ManifestEntry, WorkspaceRuntime, WorkspaceSpec } from "@spe/core";

export const WORKSPACE_AREAS = ["data", "home", "outputs"] as const;
const SAFE_ID = /^ws-[0-9a-z]+$/;

export class DirectoryRuntime implements WorkspaceRuntime {
  /** The last operation queued per workspace: start and stop of one workspace never interleave. */
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(private readonly root: string) {}

  private serialised<T>(workspaceId: string, op: () => Promise<T>): Promise<T> {
    const run = (this.queues.get(workspaceId) ?? Promise.resolve()).then(op, op);
    const settled = run.catch(() => {});
    this.queues.set(workspaceId, settled);
    void settled.then(() => {
      if (this.queues.get(workspaceId) === settled) this.queues.delete(workspaceId);
    });
    return run;
  }

  private dir(workspaceId: string): string {
    if (!SAFE_ID.test(workspaceId)) throw new Error(`invalid workspace id ${JSON.stringify(workspaceId)}`);
    return join(this.root, workspaceId);
  }

  start(spec: WorkspaceSpec): Promise<ManifestEntry[]> {
    const dir = this.dir(spec.workspaceId);
    return this.serialised(spec.workspaceId, async () => {
      await mkdir(this.root, { recursive: true, mode: 0o700 });
      for (const area of ["", ...WORKSPACE_AREAS]) {
        const path = join(dir, area);
        await mkdir(path, { recursive: true, mode: 0o700 });
        await chmod(path, 0o700); // mkdir's mode is filtered by the umask
      }
      return [];
    });
  }

  stop(workspaceId: string): Promise<void> {
    const dir = this.dir(workspaceId);
    return this.serialised(workspaceId, () => rm(dir, { recursive: true, force: true }));
  }

  async exists(workspaceId: string): Promise<boolean> {
    return stat(this.dir(workspaceId)).then(
      () => true,
      () => false,
    );
  }
}

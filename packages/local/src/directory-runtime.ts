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
  constructor(private readonly root: string) {}

  private dir(workspaceId: string): string {
    if (!SAFE_ID.test(workspaceId)) throw new Error(`invalid workspace id ${JSON.stringify(workspaceId)}`);
    return join(this.root, workspaceId);
  }

  async start(spec: WorkspaceSpec): Promise<ManifestEntry[]> {
    const dir = this.dir(spec.workspaceId);
    await mkdir(this.root, { recursive: true, mode: 0o700 });
    for (const area of ["", ...WORKSPACE_AREAS]) {
      const path = join(dir, area);
      await mkdir(path, { recursive: true, mode: 0o700 });
      await chmod(path, 0o700); // mkdir's mode is filtered by the umask
    }
    return [];
  }

  async stop(workspaceId: string): Promise<void> {
    await rm(this.dir(workspaceId), { recursive: true, force: true });
  }

  async exists(workspaceId: string): Promise<boolean> {
    return stat(this.dir(workspaceId)).then(
      () => true,
      () => false,
    );
  }
}

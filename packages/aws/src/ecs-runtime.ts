/**
 * WorkspaceRuntime on AWS (isolation `fargate`). A workspace is a prefix of the workspaces bucket
 * (`permits/<P>/workspaces/<W>/`: data/, home/, outputs/, job specs, a marker that `start` completed), a
 * KMS grant on the permit key for the permit's task role, and, while jobs run, one ECS Fargate task per
 * job in isolated subnets. The task's agent (./agent) downloads the areas, runs the job as an
 * unprivileged user without the task's credentials, and uploads home/ and outputs/ back. A job's end is
 * not reported here: ECS emits a task-state-change event, which task-events.ts turns into a JobResult for
 * the composition root (functions/task-events.ts) to hand to `Job.finish`.
 */
import {
  type JobSpec,
  type OutputFile,
  type StagedFile,
  UnavailableError,
  ValidationError,
  type WorkspaceRuntime,
  type WorkspaceSpec,
} from "@spe/core";
import { type JobSpecDocument, jobSpecKey, workspaceMarkerKey } from "./agent/protocol";
import { deleteKeys } from "./agent/s3-objects";
import { runJobTask } from "./ecs-run-task";
import {
  checkId,
  checkJob,
  type EcsRuntimeOptions,
  JOB_ID,
  PERMIT_ID,
  resolveOptions,
  WORKSPACE_ID,
} from "./ecs-runtime-options";
import {
  describeTasks,
  fargateSize,
  type NetworkOptions,
  runTaskInput,
  stopTasks,
  type TaskCalls,
  waitStopped,
  workspaceTasks,
} from "./ecs-tasks";
import { deleteTaskRole, ensureTaskRole, type TaskRoleOptions } from "./task-role";
import { checkAreaPath, isMissing, MAX_KEY_BYTES, WorkspaceArea } from "./workspace-area";

export type { EcsRuntimeOptions, WorkspaceKeyGrants } from "./ecs-runtime-options";

/** What `start` writes last: the workspace is up, with these limits and this task role. */
interface WorkspaceMarker {
  workspaceId: string;
  permitId: string;
  cpus: number;
  memoryMiB: number;
  taskRoleArn: string;
  startedAt: string;
}

/** How long after its timeout a job started here is still assumed to be syncing its files. */
const SYNC_ALLOWANCE_MS = 10 * 60_000;
const encoder = new TextEncoder();

export class EcsRuntime implements WorkspaceRuntime {
  readonly isolation = "fargate" as const;
  private readonly role: TaskRoleOptions;
  private readonly tasks: TaskCalls;
  private readonly network: NetworkOptions;
  private readonly permits = new Map<string, string>();
  /** Jobs this instance started, with when they are surely over: only for `jobRunning`. */
  private readonly started = new Map<string, number>();

  constructor(private readonly o: EcsRuntimeOptions) {
    ({ role: this.role, tasks: this.tasks, network: this.network } = resolveOptions(o));
  }

  /** Nothing to check on this side: the options were checked when the runtime was built. */
  assertAvailable(): void {}

  private now(): Date {
    return this.o.now?.() ?? new Date();
  }

  private area(permitId: string, workspaceId: string): WorkspaceArea {
    const kms = this.o.keys.permitKeyAliasArn(permitId);
    return new WorkspaceArea({ s3: this.o.s3, bucket: this.o.bucket, retry: this.o.retry }, permitId, workspaceId, kms);
  }

  /** The workspace's permit: remembered once known (a workspace never changes permit). */
  private async permitOf(workspaceId: string): Promise<string | null> {
    checkId("workspace", workspaceId, WORKSPACE_ID);
    const known = this.permits.get(workspaceId);
    if (known) return known;
    const found = await this.o.resolveWorkspace(workspaceId);
    if (!found) return null;
    if (this.permits.size >= 10_000) this.permits.clear();
    this.permits.set(workspaceId, checkId("permit", found.permitId, PERMIT_ID));
    return found.permitId;
  }

  private async areaOf(workspaceId: string): Promise<WorkspaceArea | null> {
    const permitId = await this.permitOf(workspaceId);
    return permitId ? this.area(permitId, workspaceId) : null;
  }

  /**
   * Makes the workspace ready: the permit's task role, a grant on the permit key for it, `data/` holding
   * exactly `data`, then the marker. Idempotent. When a start that was bringing the workspace up fails,
   * it undoes itself before rethrowing: everything under the prefix is deleted and the workspace's grants
   * retired (the per-permit role stays: other workspaces use it, and without a grant it reads nothing).
   */
  async start(spec: WorkspaceSpec, data: StagedFile[]): Promise<void> {
    const workspaceId = checkId("workspace", spec.workspaceId, WORKSPACE_ID);
    const permitId = checkId("permit", spec.permitId, PERMIT_ID);
    this.permits.set(workspaceId, permitId);
    const area = this.area(permitId, workspaceId);
    const markerKey = workspaceMarkerKey(area.prefix);
    const wasUp = (await area.readSmall(markerKey)) !== null;
    try {
      const taskRoleArn = await ensureTaskRole(this.role, permitId);
      await this.o.keys.grantWorkspace(permitId, workspaceId, taskRoleArn);
      await area.syncData(data);
      const marker: WorkspaceMarker = {
        workspaceId,
        permitId,
        cpus: spec.limits.cpus,
        memoryMiB: spec.limits.memoryMiB,
        taskRoleArn,
        startedAt: this.now().toISOString(),
      };
      await area.putSmall(markerKey, encoder.encode(JSON.stringify(marker)));
    } catch (err) {
      if (!wasUp) {
        await area.deleteAll().catch(() => {}); // core's stop() after a failed start retries both
        await this.o.keys.retireWorkspaceGrants(permitId, workspaceId).catch(() => {});
      }
      throw err;
    }
  }

  async stopJobs(workspaceId: string): Promise<void> {
    checkId("workspace", workspaceId, WORKSPACE_ID);
    const running = await workspaceTasks(this.tasks, workspaceId, "RUNNING");
    await stopTasks(this.tasks, running);
    // Tasks already told to stop (by us or ECS) may still be uploading: wait for them as well.
    const stopping = await workspaceTasks(this.tasks, workspaceId, "STOPPED");
    await waitStopped(this.tasks, [...new Set([...running, ...stopping])], this.o.stopWait);
  }

  /** Stops its tasks, retires its grants and deletes every version of every object of the workspace. */
  async stop(workspaceId: string): Promise<void> {
    await this.stopJobs(workspaceId);
    const permitId = await this.permitOf(workspaceId);
    if (!permitId) return; // no record of the workspace: its prefix cannot be known (and nothing was started)
    await this.o.keys.retireWorkspaceGrants(permitId, workspaceId);
    await this.area(permitId, workspaceId).deleteAll();
    for (const key of this.started.keys()) if (key.startsWith(`${workspaceId}/`)) this.started.delete(key);
  }

  /** Deletes the permit's task role (IAM roles count against the account's quota). Idempotent. */
  async releasePermit(permitId: string): Promise<void> {
    await deleteTaskRole(this.role, checkId("permit", permitId, PERMIT_ID));
  }

  async exists(workspaceId: string): Promise<boolean> {
    checkId("workspace", workspaceId, WORKSPACE_ID);
    if ((await workspaceTasks(this.tasks, workspaceId, "RUNNING")).length > 0) return true;
    const area = await this.areaOf(workspaceId);
    return area ? area.hasAnything() : false;
  }

  /**
   * Runs the job in a new task. The argv is stored (encrypted) as the job's spec, which the agent reads;
   * RunTask carries only names and numbers. If RunTask fails after it may have started a task (an error
   * other than a clean refusal), the job's tasks are looked up and stopped, and its spec deleted so that a
   * task ECS starts late finds nothing to run.
   * @throws UnavailableError `runtime.workspace_missing` when the workspace is not started,
   * `runtime.capacity` when Fargate refused to place the task, `runtime.no_task_size`, `runtime.aws_busy`.
   */
  async startJob(spec: JobSpec): Promise<void> {
    const workspaceId = checkId("workspace", spec.workspaceId, WORKSPACE_ID);
    const jobId = checkId("job", spec.jobId, JOB_ID);
    checkJob(spec);
    const permitId = await this.permitOf(workspaceId);
    const area = permitId ? this.area(permitId, workspaceId) : null;
    const raw = area ? await area.readSmall(workspaceMarkerKey(area.prefix)) : null;
    if (!permitId || !area || !raw) {
      throw new UnavailableError("runtime.workspace_missing", `workspace ${workspaceId} is not running here`);
    }
    const marker = JSON.parse(Buffer.from(raw).toString("utf8")) as WorkspaceMarker;
    const size = fargateSize(marker.cpus, spec.memoryMiB);
    const specKey = jobSpecKey(area.prefix, jobId);
    const doc: JobSpecDocument = { jobId, command: [...spec.command], timeoutSeconds: spec.timeoutSeconds };
    await area.putSmall(specKey, encoder.encode(JSON.stringify(doc)));
    const input = runTaskInput(this.network, {
      workspaceId,
      permitId,
      jobId,
      prefix: area.prefix,
      bucket: this.o.bucket,
      kmsKeyId: this.o.keys.permitKeyAliasArn(permitId),
      taskRoleArn: marker.taskRoleArn,
      timeoutSeconds: spec.timeoutSeconds,
      outputsQuotaBytes: this.o.outputsQuotaBytes,
      size,
    });
    const withdraw = () => deleteKeys(this.o.s3, this.o.bucket, [specKey]).catch(() => {});
    try {
      await runJobTask(this.tasks, input);
    } catch (err) {
      if (!(err instanceof UnavailableError && err.code === "runtime.capacity")) {
        await this.stopJobTasks(workspaceId, jobId).catch(() => {});
      }
      await withdraw();
      throw err;
    }
    const key = `${workspaceId}/${jobId}`;
    this.started.set(key, this.now().getTime() + spec.timeoutSeconds * 1000 + SYNC_ALLOWANCE_MS);
  }

  /** Stops the tasks of one job (found by their `spe:job` tag). */
  private async stopJobTasks(workspaceId: string, jobId: string): Promise<void> {
    const arns = await workspaceTasks(this.tasks, workspaceId, "RUNNING");
    const ours = (await describeTasks(this.tasks, arns)).filter((t) =>
      (t.tags ?? []).some((tag) => tag.key === "spe:job" && tag.value === jobId),
    );
    await stopTasks(
      this.tasks,
      ours.map((t) => t.taskArn!),
    );
  }

  /**
   * Whether this process started the job and its timeout (plus time to upload its files) has not passed.
   * Job ends arrive as ECS events in another function, so this is a hint, not the job's state (that is in
   * the store); core does not call it.
   */
  jobRunning(workspaceId: string, jobId: string): boolean {
    const until = this.started.get(`${workspaceId}/${jobId}`);
    return until !== undefined && this.now().getTime() < until;
  }

  async writeHome(workspaceId: string, path: string, bytes: Uint8Array): Promise<void> {
    checkAreaPath(path);
    const area = await this.areaOf(workspaceId);
    if (!area) throw new UnavailableError("runtime.workspace_missing", `workspace ${workspaceId} is not running here`);
    const refuse = (why: string) =>
      new ValidationError("file.path_escape", `cannot write ${path}: ${why}`, [{ path: "path", message: why }]);
    if (Buffer.byteLength(area.key("home", path)) > MAX_KEY_BYTES) throw refuse("the path is too long to store");
    if (await area.anyUnder(`${area.key("home", path)}/`)) throw refuse("a directory has that name");
    const segments = path.split("/");
    for (let i = 1; i < segments.length; i++) {
      // The agent lays home/ out as files: `a` and `a/b` cannot both exist there.
      if (await area.head(area.key("home", segments.slice(0, i).join("/")))) throw refuse("a file is in the way");
    }
    await area.putSmall(area.key("home", path), bytes);
  }

  async listFiles(workspaceId: string, dir: "outputs" | "home"): Promise<OutputFile[]> {
    const area = await this.areaOf(workspaceId);
    return area ? area.listFiles(dir) : [];
  }

  async statOutput(
    workspaceId: string,
    path: string,
  ): Promise<{ kind: "file" | "directory" | "symlink" | "other" | "missing"; bytes: number }> {
    checkAreaPath(path);
    const area = await this.areaOf(workspaceId);
    if (!area) return { kind: "missing", bytes: 0 };
    const key = area.key("outputs", path);
    // No object can have a key longer than S3 allows: asking would only earn a KeyTooLongError.
    if (Buffer.byteLength(key) > MAX_KEY_BYTES) return { kind: "missing", bytes: 0 };
    const head = await area.head(key);
    if (head) return { kind: "file", bytes: head.bytes };
    return (await area.anyUnder(`${key}/`)) ? { kind: "directory", bytes: 0 } : { kind: "missing", bytes: 0 };
  }

  async *readOutput(workspaceId: string, path: string): AsyncGenerator<Uint8Array> {
    checkAreaPath(path);
    const refuse = () =>
      new ValidationError("file.path_escape", `${path} is not a regular file inside its area`, [
        { path: "path", message: "not a regular file inside the area" },
      ]);
    const area = await this.areaOf(workspaceId);
    if (!area || Buffer.byteLength(area.key("outputs", path)) > MAX_KEY_BYTES) throw refuse();
    try {
      yield* area.body(area.key("outputs", path));
    } catch (err) {
      if (isMissing(err)) throw refuse();
      throw err;
    }
  }
}

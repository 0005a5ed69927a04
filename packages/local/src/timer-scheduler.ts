/** Scheduler with in-process timers: one per workspace, re-armed for delays beyond setTimeout's range. */
import type { Scheduler } from "@spe/core";

const MAX_DELAY = 2_147_483_647;

export class TimerScheduler implements Scheduler {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly onExpire: (workspaceId: string) => Promise<unknown>,
    private readonly onError: (err: unknown, workspaceId: string) => void,
    private readonly now: () => number = Date.now,
  ) {}

  async scheduleExpiry(workspaceId: string, at: Date): Promise<void> {
    this.clear(workspaceId);
    const delay = Math.max(0, at.getTime() - this.now());
    const timer = setTimeout(
      () => {
        this.timers.delete(workspaceId);
        if (delay > MAX_DELAY) void this.scheduleExpiry(workspaceId, at);
        else this.onExpire(workspaceId).catch((err) => this.onError(err, workspaceId));
      },
      Math.min(delay, MAX_DELAY),
    );
    timer.unref();
    this.timers.set(workspaceId, timer);
  }

  async cancel(workspaceId: string): Promise<void> {
    this.clear(workspaceId);
  }

  private clear(workspaceId: string): void {
    const t = this.timers.get(workspaceId);
    if (t) clearTimeout(t);
    this.timers.delete(workspaceId);
  }

  /** Stops every timer (shutdown). */
  close(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  get size(): number {
    return this.timers.size;
  }
}

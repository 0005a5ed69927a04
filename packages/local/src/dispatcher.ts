/** Runs dispatched tasks in this process after the current request, and can wait for them (shutdown, tests). */
import type { Dispatcher } from "@spe/core";

type Task = Parameters<Dispatcher["dispatch"]>[0];

export class InProcessDispatcher implements Dispatcher {
  private readonly running = new Set<Promise<unknown>>();

  constructor(
    private readonly handle: (task: Task) => Promise<unknown>,
    private readonly onError: (err: unknown, task: Task) => void,
  ) {}

  dispatch(task: Task): void {
    const p = new Promise((r) => setImmediate(r))
      .then(() => this.handle(task))
      .catch((err) => this.onError(err, task))
      .finally(() => this.running.delete(p));
    this.running.add(p);
  }

  /** Resolves when every dispatched task has finished. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }
}

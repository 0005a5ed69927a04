/**
 * Dispatcher on Lambda: a dispatched task (provisioning a workspace) is an asynchronous invocation of the
 * provision function (`InvocationType: "Event"`): Lambda queues it and answers 202 at once, then runs it
 * (with its own retries) after the request that asked for it has returned.
 *
 * The port's `dispatch` is fire-and-forget, but a Lambda's process is frozen once its handler returns,
 * so an invoke still in flight might never leave: the API handler must `await dispatcher.idle()` before
 * returning. A failed invoke goes to `onError` (logged and audited by the composition root; `idle()` waits
 * for it too); the workspace stays `provisioning` and the sweeper dispatches it again once it is stale.
 */
import { InvokeCommand, type LambdaClient } from "@aws-sdk/client-lambda";
import type { Dispatcher } from "@spe/core";

type Task = Parameters<Dispatcher["dispatch"]>[0];

const RESOURCE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** A function name, name:alias, or function ARN. */
const FUNCTION = /^(arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:)?[a-zA-Z0-9-_]{1,64}(:[a-zA-Z0-9-_$]{1,128})?$/;

export interface LambdaDispatcherOptions {
  client: LambdaClient;
  /** The provision function's name or ARN. */
  functionName: string;
  /**
   * Told of every invoke that failed; never given the task's data beyond its type and workspace id. A
   * promise it returns (e.g. an audit record being written) is awaited by `idle()` too.
   */
  onError: (err: unknown, task: Task) => void;
}

export class LambdaDispatcher implements Dispatcher {
  private readonly pending = new Set<Promise<void>>();
  private readonly o: LambdaDispatcherOptions;

  constructor(o: LambdaDispatcherOptions) {
    if (!FUNCTION.test(o.functionName))
      throw new Error(`${JSON.stringify(o.functionName)} is not a Lambda function name or ARN`);
    this.o = o;
  }

  /** Starts the invoke and returns at once; `idle()` waits for it. */
  dispatch(task: Task): void {
    if (task.type !== "workspace.provision" || !RESOURCE_ID.test(task.workspaceId)) {
      throw new Error(`cannot dispatch ${JSON.stringify(task.type)} for ${JSON.stringify(task.workspaceId)}`);
    }
    const payload = { type: task.type, workspaceId: task.workspaceId };
    const p = this.invoke(payload)
      .catch(async (err) => {
        try {
          await this.o.onError(err, task);
        } catch {
          // A failing error reporter must not turn into an unhandled rejection.
        }
      })
      .finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  private async invoke(payload: { type: string; workspaceId: string }): Promise<void> {
    const res = await this.o.client.send(
      new InvokeCommand({
        FunctionName: this.o.functionName,
        InvocationType: "Event",
        Payload: new TextEncoder().encode(JSON.stringify(payload)),
      }),
    );
    if (res.StatusCode !== 202)
      throw new Error(`Lambda did not queue the invocation (status ${res.StatusCode ?? "none"})`);
  }

  /** Resolves when every invoke started so far has been sent (or has failed and been reported). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /** How many invokes are still in flight. */
  get inFlight(): number {
    return this.pending.size;
  }
}

/**
 * An in-memory Lambda behind aws-sdk-client-mock, for what the controller asks of Lambda: asynchronous
 * invocations (`InvocationType: "Event"`), answered 202 and queued here, so a test plays the invoked
 * function itself (e.g. runs `Workspace.provision` for a queued `workspace.provision`). Faults (faults.ts)
 * inject throttling (TooManyRequestsException) or any error at any call.
 */
import {
  InvokeCommand,
  LambdaClient,
  LambdaServiceException,
  ResourceNotFoundException,
  TooManyRequestsException,
} from "@aws-sdk/client-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { Faults } from "./faults";

/** Lambda's throttling answer (429). */
export const lambdaThrottling = () =>
  new TooManyRequestsException({
    message: "Rate Exceeded.",
    $metadata: { httpStatusCode: 429 },
    retryAfterSeconds: "1",
    Type: "User",
    Reason: "ReservedFunctionConcurrentInvocationLimitExceeded",
  });

/** Lambda's answer to a caller without lambda:InvokeFunction. */
export const lambdaAccessDenied = () =>
  new LambdaServiceException({
    name: "AccessDeniedException",
    $fault: "client",
    $metadata: { httpStatusCode: 403 },
    message: "User is not authorized to perform: lambda:InvokeFunction",
  });

export interface Invocation {
  functionName: string;
  payload: unknown;
  /** Lambda's delivery attempt of this event: 1, then 2 and 3 when the function threw (async retries). */
  attempt?: number;
}

export class FakeLambda {
  readonly client = new LambdaClient({
    region: "eu-central-1",
    credentials: { accessKeyId: "AKIAFAKEFAKEFAKE", secretAccessKey: "fake" },
  });
  readonly mock = mockClient(this.client);
  readonly faults = new Faults();
  /** Queued asynchronous invocations, oldest first, not yet taken by the test. */
  readonly queued: Invocation[] = [];

  /** @param functions names or ARNs that exist; any other is ResourceNotFoundException. */
  constructor(private readonly functions: readonly string[]) {
    const m = this.mock;
    m.onAnyCommand().callsFake((input: unknown) => {
      throw new Error(`FakeLambda does not implement this command (${JSON.stringify(input)})`);
    });
    m.on(InvokeCommand).callsFake((i) =>
      this.faults.run("Invoke", i, () => {
        const name = i.FunctionName ?? "";
        if (!this.functions.includes(name)) {
          throw new ResourceNotFoundException({
            message: `Function not found: ${name}`,
            $metadata: { httpStatusCode: 404 },
            Type: "User",
          });
        }
        if (i.InvocationType !== "Event") throw new Error("FakeLambda queues asynchronous invocations only");
        const payload = JSON.parse(Buffer.from(i.Payload ?? new Uint8Array()).toString("utf8")) as unknown;
        this.queued.push({ functionName: name, payload });
        return { StatusCode: 202 };
      }),
    );
  }

  /** A copy of the queue, for `restore`. */
  snapshot(): Invocation[] {
    return [...this.queued];
  }

  restore(s: Invocation[]): void {
    this.queued.splice(0, this.queued.length, ...s);
  }

  /** Takes every queued invocation (Lambda hands them to the function). */
  take(): Invocation[] {
    return this.queued.splice(0, this.queued.length);
  }
}

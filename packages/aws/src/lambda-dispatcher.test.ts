import { InvokeCommand, LambdaClient, TooManyRequestsException } from "@aws-sdk/client-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { describe, expect, it } from "vitest";
import { LambdaDispatcher } from "./lambda-dispatcher";

const FN = "arn:aws:lambda:eu-central-1:111122223333:function:spe-test-provision";

function setup() {
  const client = new LambdaClient({
    region: "eu-central-1",
    credentials: { accessKeyId: "AKIA", secretAccessKey: "x" },
  });
  const mock = mockClient(client);
  const errors: { err: unknown; task: unknown }[] = [];
  const dispatcher = new LambdaDispatcher({
    client,
    functionName: FN,
    onError: (err, task) => errors.push({ err, task }),
  });
  return { mock, dispatcher, errors };
}

/** A promise the test resolves by hand, to hold an invoke in flight. */
function gate<T>() {
  let open: (v: T) => void = () => {};
  const promise = new Promise<T>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

describe("LambdaDispatcher", () => {
  it("invokes the provision function asynchronously with the task, and idle() waits for the invoke", async () => {
    const { mock, dispatcher, errors } = setup();
    const held = gate<{ StatusCode: number }>();
    mock.on(InvokeCommand).callsFake(() => held.promise);
    dispatcher.dispatch({ type: "workspace.provision", workspaceId: "ws-1" });
    expect(dispatcher.inFlight).toBe(1);
    let idle = false;
    const waiting = dispatcher.idle().then(() => {
      idle = true;
    });
    await new Promise((r) => setTimeout(r, 10));
    expect(idle).toBe(false); // still in flight: a Lambda returning now could freeze it
    held.open({ StatusCode: 202 });
    await waiting;
    expect(dispatcher.inFlight).toBe(0);
    const input = mock.commandCalls(InvokeCommand)[0]?.args[0].input;
    expect(input?.FunctionName).toBe(FN);
    expect(input?.InvocationType).toBe("Event");
    expect(JSON.parse(new TextDecoder().decode(input?.Payload as Uint8Array))).toEqual({
      type: "workspace.provision",
      workspaceId: "ws-1",
    });
    expect(errors).toEqual([]);
  });

  it("reports a throttled invoke to onError, without throwing from dispatch or idle", async () => {
    const { mock, dispatcher, errors } = setup();
    mock
      .on(InvokeCommand)
      .rejectsOnce(new TooManyRequestsException({ message: "Rate exceeded", $metadata: { httpStatusCode: 429 } }))
      .resolves({ StatusCode: 202 });
    dispatcher.dispatch({ type: "workspace.provision", workspaceId: "ws-1" });
    dispatcher.dispatch({ type: "workspace.provision", workspaceId: "ws-2" });
    await dispatcher.idle();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      err: { name: "TooManyRequestsException" },
      task: { type: "workspace.provision", workspaceId: "ws-1" },
    });
    expect(mock.commandCalls(InvokeCommand)).toHaveLength(2);
  });

  it("reports an invocation Lambda did not queue", async () => {
    const { mock, dispatcher, errors } = setup();
    mock.on(InvokeCommand).resolves({ StatusCode: 200 });
    dispatcher.dispatch({ type: "workspace.provision", workspaceId: "ws-1" });
    await dispatcher.idle();
    expect(String(errors[0]?.err)).toMatch(/did not queue/);
  });

  it("survives an onError that throws", async () => {
    const client = new LambdaClient({
      region: "eu-central-1",
      credentials: { accessKeyId: "AKIA", secretAccessKey: "x" },
    });
    mockClient(client).on(InvokeCommand).rejects(new Error("down"));
    const dispatcher = new LambdaDispatcher({
      client,
      functionName: "spe-test-provision",
      onError: () => {
        throw new Error("logger broke");
      },
    });
    dispatcher.dispatch({ type: "workspace.provision", workspaceId: "ws-1" });
    await expect(dispatcher.idle()).resolves.toBeUndefined();
  });

  it("refuses bad tasks and function names before invoking anything", () => {
    const { mock, dispatcher } = setup();
    expect(() => dispatcher.dispatch({ type: "workspace.provision", workspaceId: "../x" })).toThrow(/cannot dispatch/);
    expect(mock.commandCalls(InvokeCommand)).toHaveLength(0);
    const client = new LambdaClient({ region: "eu-central-1" });
    expect(() => new LambdaDispatcher({ client, functionName: "no spaces", onError: () => {} })).toThrow(
      /not a Lambda/,
    );
  });
});

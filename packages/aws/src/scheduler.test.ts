import {
  ConflictException,
  CreateScheduleCommand,
  type CreateScheduleCommandInput,
  DeleteScheduleCommand,
  ResourceNotFoundException,
  SchedulerClient,
  ThrottlingException,
  UpdateScheduleCommand,
} from "@aws-sdk/client-scheduler";
import { mockClient } from "aws-sdk-client-mock";
import { describe, expect, it } from "vitest";
import { atExpression, EventBridgeScheduler } from "./scheduler";
import { Faults } from "./testing/faults";

const meta = { $metadata: { httpStatusCode: 400 } };
/** Scheduler's modeled errors carry the message twice (`message` and the service's `Message`). */
const err = (message: string) => ({ message, Message: message, ...meta });
const throttled = () => new ThrottlingException(err("Rate exceeded"));
const ROLE = "arn:aws:iam::111122223333:role/spe-test-scheduler";
const TARGET = "arn:aws:lambda:eu-central-1:111122223333:function:spe-test-expire";
const NOW = new Date("2026-03-01T10:00:00.000Z");

/** A schedule group in memory, with EventBridge Scheduler's answers for existing and missing names. */
function setup(stage = "test") {
  const client = new SchedulerClient({
    region: "eu-central-1",
    credentials: { accessKeyId: "AKIA", secretAccessKey: "x" },
  });
  const mock = mockClient(client);
  const faults = new Faults();
  const schedules = new Map<string, CreateScheduleCommandInput>();
  const key = (i: { GroupName?: string; Name?: string }) => `${i.GroupName}/${i.Name}`;
  mock.on(CreateScheduleCommand).callsFake((i) =>
    faults.run("CreateSchedule", i, () => {
      if (schedules.has(key(i))) throw new ConflictException(err(`Schedule ${i.Name} already exists.`));
      schedules.set(key(i), i);
      return { ScheduleArn: `arn:aws:scheduler:eu-central-1:111122223333:schedule/${key(i)}` };
    }),
  );
  mock.on(UpdateScheduleCommand).callsFake((i) =>
    faults.run("UpdateSchedule", i, () => {
      if (!schedules.has(key(i))) throw new ResourceNotFoundException(err(`Schedule ${i.Name} does not exist.`));
      schedules.set(key(i), i);
      return { ScheduleArn: "arn" };
    }),
  );
  mock.on(DeleteScheduleCommand).callsFake((i) =>
    faults.run("DeleteSchedule", i, () => {
      if (!schedules.delete(key(i))) throw new ResourceNotFoundException(err(`Schedule ${i.Name} does not exist.`));
      return {};
    }),
  );
  const scheduler = new EventBridgeScheduler({
    client,
    group: "spe-test",
    roleArn: ROLE,
    targetArn: TARGET,
    stage,
    now: () => NOW,
  });
  return { scheduler, schedules, faults };
}

describe("EventBridgeScheduler", () => {
  it("creates a one-time UTC schedule that invokes the expire function with the workspace id, then deletes itself", async () => {
    const { scheduler, schedules } = setup();
    await scheduler.scheduleExpiry("ws-1", new Date("2026-03-01T14:30:00+02:00"));
    expect([...schedules.values()]).toEqual([
      {
        Name: "test-ws-1",
        GroupName: "spe-test",
        ScheduleExpression: "at(2026-03-01T12:30:00)",
        ScheduleExpressionTimezone: "UTC",
        FlexibleTimeWindow: { Mode: "OFF" },
        ActionAfterCompletion: "DELETE",
        State: "ENABLED",
        Description: "expiry of workspace ws-1",
        Target: {
          Arn: TARGET,
          RoleArn: ROLE,
          Input: '{"workspaceId":"ws-1"}',
          RetryPolicy: { MaximumEventAgeInSeconds: 86_400, MaximumRetryAttempts: 185 },
        },
      },
    ]);
  });

  it("never fires early: a time with milliseconds is rounded up to the next second", () => {
    expect(atExpression(new Date("2026-03-01T12:30:00.001Z"))).toBe("at(2026-03-01T12:30:01)");
    expect(atExpression(new Date("2026-12-31T23:59:59.500Z"))).toBe("at(2027-01-01T00:00:00)");
  });

  it("replaces an existing schedule when the expiry moves, leaving one schedule", async () => {
    const { scheduler, schedules, faults } = setup();
    await scheduler.scheduleExpiry("ws-1", new Date("2026-03-01T12:00:00Z"));
    await scheduler.scheduleExpiry("ws-1", new Date("2026-03-01T16:00:00Z"));
    expect(schedules.size).toBe(1);
    expect(schedules.get("spe-test/test-ws-1")?.ScheduleExpression).toBe("at(2026-03-01T16:00:00)");
    expect(faults.count("UpdateSchedule")).toBe(1);
  });

  it("moves a time already past to one minute from now, so the workspace still expires", async () => {
    const { scheduler, schedules } = setup();
    await scheduler.scheduleExpiry("ws-1", new Date("2026-02-01T00:00:00Z"));
    await scheduler.scheduleExpiry("ws-2", new Date(NOW.getTime() + 10_000));
    expect(schedules.get("spe-test/test-ws-1")?.ScheduleExpression).toBe("at(2026-03-01T10:01:00)");
    expect(schedules.get("spe-test/test-ws-2")?.ScheduleExpression).toBe("at(2026-03-01T10:01:00)");
  });

  it("creates the schedule afresh when it fired and deleted itself between create and update", async () => {
    const { scheduler, schedules, faults } = setup();
    await scheduler.scheduleExpiry("ws-1", new Date("2026-03-01T12:00:00Z"));
    faults.observe((command) => {
      if (command === "UpdateSchedule") schedules.clear(); // it fires now
    });
    await scheduler.scheduleExpiry("ws-1", new Date("2026-03-01T18:00:00Z"));
    expect(schedules.get("spe-test/test-ws-1")?.ScheduleExpression).toBe("at(2026-03-01T18:00:00)");
  });

  it("keeps names within 64 characters, the same for scheduling and cancelling", async () => {
    const { scheduler, schedules } = setup("a-rather-long-stage-name");
    const id = `ws-${"x".repeat(100)}`;
    await scheduler.scheduleExpiry(id, new Date("2026-03-01T12:00:00Z"));
    const [name] = [...schedules.values()].map((s) => s.Name as string);
    expect(name).toMatch(/^a-rather-long-stage-name-[0-9a-f]{39}$/);
    expect(name?.length).toBe(64);
    await scheduler.cancel(id);
    expect(schedules.size).toBe(0);
  });

  it("cancels idempotently", async () => {
    const { scheduler, schedules } = setup();
    await scheduler.scheduleExpiry("ws-1", new Date("2026-03-01T12:00:00Z"));
    await scheduler.scheduleExpiry("ws-2", new Date("2026-03-01T12:00:00Z"));
    await scheduler.cancel("ws-1");
    await scheduler.cancel("ws-1");
    await scheduler.cancel("ws-never");
    expect([...schedules.keys()]).toEqual(["spe-test/test-ws-2"]);
  });

  describe("throttling (after the SDK's own retries)", () => {
    it("a throttled create surfaces and leaves no schedule", async () => {
      const { scheduler, schedules, faults } = setup();
      faults.fail("CreateSchedule", throttled);
      await expect(scheduler.scheduleExpiry("ws-1", new Date("2026-03-01T12:00:00Z"))).rejects.toMatchObject({
        name: "ThrottlingException",
      });
      expect(schedules.size).toBe(0);
    });

    it("a throttled update surfaces and leaves the earlier schedule in place (expiry still happens)", async () => {
      const { scheduler, schedules, faults } = setup();
      await scheduler.scheduleExpiry("ws-1", new Date("2026-03-01T12:00:00Z"));
      faults.fail("UpdateSchedule", throttled);
      await expect(scheduler.scheduleExpiry("ws-1", new Date("2026-03-01T16:00:00Z"))).rejects.toMatchObject({
        name: "ThrottlingException",
      });
      expect(schedules.get("spe-test/test-ws-1")?.ScheduleExpression).toBe("at(2026-03-01T12:00:00)");
    });

    it("a throttled cancel surfaces (the schedule stays; firing for an ended workspace is harmless)", async () => {
      const { scheduler, schedules, faults } = setup();
      await scheduler.scheduleExpiry("ws-1", new Date("2026-03-01T12:00:00Z"));
      faults.fail("DeleteSchedule", throttled);
      await expect(scheduler.cancel("ws-1")).rejects.toMatchObject({ name: "ThrottlingException" });
      expect(schedules.size).toBe(1);
      await scheduler.cancel("ws-1");
      expect(schedules.size).toBe(0);
    });
  });

  it("validates its options and inputs", async () => {
    const { scheduler } = setup();
    const client = new SchedulerClient({ region: "eu-central-1" });
    const base = { client, group: "g", roleArn: ROLE, targetArn: TARGET, stage: "test" };
    expect(() => new EventBridgeScheduler({ ...base, roleArn: "role" })).toThrow(/roleArn/);
    expect(() => new EventBridgeScheduler({ ...base, group: "a group" })).toThrow(/group/);
    expect(() => new EventBridgeScheduler({ ...base, stage: "Prod" })).toThrow(/stage/);
    await expect(scheduler.scheduleExpiry("../ws", new Date())).rejects.toThrow(/invalid workspace id/);
    await expect(scheduler.scheduleExpiry("ws-1", new Date("nope"))).rejects.toThrow(/not a valid date/);
  });
});

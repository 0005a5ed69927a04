/**
 * An in-memory EventBridge Scheduler behind aws-sdk-client-mock: one-time schedules by group and name, with
 * the answers the service really gives (ConflictException for a name that exists, ResourceNotFoundException
 * for one that does not) and faults (faults.ts) at any call. `due` and `fire` play the service's part: a
 * schedule whose time has come invokes its target once and deletes itself (ActionAfterCompletion DELETE).
 */
import {
  ConflictException,
  CreateScheduleCommand,
  type CreateScheduleCommandInput,
  DeleteScheduleCommand,
  ResourceNotFoundException,
  SchedulerClient,
  SchedulerServiceException,
  ThrottlingException,
  UpdateScheduleCommand,
} from "@aws-sdk/client-scheduler";
import { mockClient } from "aws-sdk-client-mock";
import { Faults } from "./faults";

const meta = { $metadata: { httpStatusCode: 400 } };
/** Scheduler's modeled errors carry the message twice (`message` and the service's `Message`). */
const err = (message: string) => ({ message, Message: message, ...meta });

/** EventBridge Scheduler's throttling answer. */
export const schedulerThrottling = () => new ThrottlingException(err("Rate exceeded"));
/** Its answer to a caller without scheduler:* on the group. */
export const schedulerAccessDenied = () =>
  new SchedulerServiceException({
    name: "AccessDeniedException",
    $fault: "client",
    $metadata: { httpStatusCode: 403 },
    message: "User is not authorized to perform this action",
  });

/** `at(2026-03-01T10:00:00)` → that moment (UTC). */
const atTime = (expression: string | undefined) => {
  const m = /^at\((\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\)$/.exec(expression ?? "");
  return m ? new Date(`${m[1]}Z`) : null;
};

export class FakeScheduler {
  readonly client = new SchedulerClient({
    region: "eu-central-1",
    credentials: { accessKeyId: "AKIAFAKEFAKEFAKE", secretAccessKey: "fake" },
  });
  readonly mock = mockClient(this.client);
  readonly faults = new Faults();
  /** `<group>/<name>` → the schedule as created or last updated. */
  readonly schedules = new Map<string, CreateScheduleCommandInput>();

  constructor() {
    const m = this.mock;
    const key = (i: { GroupName?: string; Name?: string }) => `${i.GroupName ?? "default"}/${i.Name}`;
    m.onAnyCommand().callsFake((input: unknown) => {
      throw new Error(`FakeScheduler does not implement this command (${JSON.stringify(input)})`);
    });
    m.on(CreateScheduleCommand).callsFake((i) =>
      this.faults.run("CreateSchedule", i, () => {
        if (this.schedules.has(key(i))) throw new ConflictException(err(`Schedule ${i.Name} already exists.`));
        if (!atTime(i.ScheduleExpression)) throw new Error(`FakeScheduler takes at() expressions only`);
        this.schedules.set(key(i), i);
        return { ScheduleArn: `arn:aws:scheduler:eu-central-1:111122223333:schedule/${key(i)}` };
      }),
    );
    m.on(UpdateScheduleCommand).callsFake((i) =>
      this.faults.run("UpdateSchedule", i, () => {
        if (!this.schedules.has(key(i))) throw new ResourceNotFoundException(err(`Schedule ${i.Name} does not exist.`));
        this.schedules.set(key(i), i as CreateScheduleCommandInput);
        return { ScheduleArn: `arn:aws:scheduler:eu-central-1:111122223333:schedule/${key(i)}` };
      }),
    );
    m.on(DeleteScheduleCommand).callsFake((i) =>
      this.faults.run("DeleteSchedule", i, () => {
        if (!this.schedules.delete(key(i))) {
          throw new ResourceNotFoundException(err(`Schedule ${i.Name} does not exist.`));
        }
        return {};
      }),
    );
  }

  /** A copy of every schedule, for `restore`. */
  snapshot(): Map<string, CreateScheduleCommandInput> {
    return new Map(this.schedules);
  }

  restore(s: Map<string, CreateScheduleCommandInput>): void {
    this.schedules.clear();
    for (const [k, v] of s) this.schedules.set(k, v);
  }

  /** Names of the schedules that exist, sorted. */
  names(): string[] {
    return [...this.schedules.values()].map((s) => s.Name ?? "").sort();
  }

  /** Schedules whose time has come at `now`, with the input they would deliver to their target. */
  due(now: Date): { name: string; input: unknown }[] {
    return [...this.schedules.values()]
      .filter((s) => (atTime(s.ScheduleExpression)?.getTime() ?? Number.POSITIVE_INFINITY) <= now.getTime())
      .map((s) => ({ name: s.Name ?? "", input: JSON.parse(s.Target?.Input ?? "null") as unknown }));
  }

  /** The service fires a due schedule: it is deleted (ActionAfterCompletion DELETE) and its input returned. */
  fire(name: string): unknown {
    for (const [k, s] of this.schedules) {
      if (s.Name === name) {
        this.schedules.delete(k);
        return JSON.parse(s.Target?.Input ?? "null") as unknown;
      }
    }
    throw new Error(`no schedule ${name}`);
  }
}

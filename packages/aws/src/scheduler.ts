/**
 * Scheduler on EventBridge Scheduler: each workspace's expiry is a one-time schedule in the deployment's
 * schedule group, named after the stage and the workspace, that invokes the expire function with
 * `{"workspaceId": ...}` once and then deletes itself. Rescheduling replaces the schedule; the sweeper
 * (on its own cron) is the backstop for a schedule that was never created or failed every retry.
 *
 * What is retried: the SDK retries throttling inside each call; then the error surfaces (the launch that
 * asked for the schedule reports it, the sweeper catches the workspace's expiry anyway). EventBridge
 * Scheduler itself retries a failed invocation of the expire function for up to 24 hours.
 */
import { createHash } from "node:crypto";
import {
  CreateScheduleCommand,
  type CreateScheduleCommandInput,
  DeleteScheduleCommand,
  type SchedulerClient,
  UpdateScheduleCommand,
} from "@aws-sdk/client-scheduler";
import type { Scheduler } from "@spe/core";
import { isError } from "./sdk-errors";

/** EventBridge Scheduler's limit on schedule names. */
const MAX_NAME = 64;
const RESOURCE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const ARN = /^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:\d{12}:.+$/;
/** How far ahead a schedule for a time already past (or about to pass) is put. */
export const MIN_LEAD_MS = 60_000;

export interface EventBridgeSchedulerOptions {
  client: SchedulerClient;
  /** The schedule group (the stacks create it; deleting the group deletes every schedule). */
  group: string;
  /** The role EventBridge Scheduler assumes to invoke the target (lambda:InvokeFunction on it only). */
  roleArn: string;
  /** The expire function. */
  targetArn: string;
  /** The SST stage, the first part of every schedule name. */
  stage: string;
  /** A dead-letter queue for invocations that failed every retry. */
  deadLetterArn?: string;
  now?: () => Date;
}

/** `at(yyyy-mm-ddThh:mm:ss)` in UTC, rounded up to the second so that expiry never comes early. */
export function atExpression(at: Date): string {
  const seconds = Math.ceil(at.getTime() / 1000) * 1000;
  return `at(${new Date(seconds).toISOString().slice(0, 19)})`;
}

export class EventBridgeScheduler implements Scheduler {
  private readonly o: EventBridgeSchedulerOptions;
  private readonly now: () => Date;

  constructor(o: EventBridgeSchedulerOptions) {
    if (!/^[a-z0-9-]{1,24}$/.test(o.stage))
      throw new Error(`stage ${JSON.stringify(o.stage)} must match [a-z0-9-]{1,24}`);
    if (!/^[0-9a-zA-Z-_.]{1,64}$/.test(o.group))
      throw new Error(`group ${JSON.stringify(o.group)} is not a schedule group name`);
    for (const [name, arn] of Object.entries({
      roleArn: o.roleArn,
      targetArn: o.targetArn,
      deadLetterArn: o.deadLetterArn,
    })) {
      if (arn !== undefined && !ARN.test(arn)) throw new Error(`${name} ${JSON.stringify(arn)} is not an ARN`);
    }
    this.o = o;
    this.now = o.now ?? (() => new Date());
  }

  /**
   * `<stage>-<workspaceId>`, or, when that is over 64 characters, `<stage>-<hash of the id>`: the name is
   * derived again by `cancel`, so it must be a function of the id alone.
   */
  scheduleName(workspaceId: string): string {
    if (!RESOURCE_ID.test(workspaceId)) throw new Error(`invalid workspace id ${JSON.stringify(workspaceId)}`);
    const plain = `${this.o.stage}-${workspaceId}`;
    if (plain.length <= MAX_NAME) return plain;
    const hash = createHash("sha256").update(workspaceId).digest("hex");
    return `${this.o.stage}-${hash.slice(0, MAX_NAME - this.o.stage.length - 1)}`;
  }

  /**
   * Schedules (or moves) the workspace's expiry. A time in the past or within the next minute is moved to
   * one minute from now: EventBridge Scheduler fires with one-minute precision and a one-time schedule for
   * a moment already gone may be refused or never fire, while the workspace must still expire.
   */
  async scheduleExpiry(workspaceId: string, at: Date): Promise<void> {
    if (Number.isNaN(at.getTime())) throw new Error("the expiry time is not a valid date");
    const earliest = this.now().getTime() + MIN_LEAD_MS;
    const when = at.getTime() < earliest ? new Date(earliest) : at;
    const input: CreateScheduleCommandInput = {
      Name: this.scheduleName(workspaceId),
      GroupName: this.o.group,
      ScheduleExpression: atExpression(when),
      ScheduleExpressionTimezone: "UTC",
      FlexibleTimeWindow: { Mode: "OFF" },
      ActionAfterCompletion: "DELETE",
      State: "ENABLED",
      Description: `expiry of workspace ${workspaceId}`,
      Target: {
        Arn: this.o.targetArn,
        RoleArn: this.o.roleArn,
        Input: JSON.stringify({ workspaceId }),
        // Expiry must happen: retry for as long as EventBridge Scheduler allows (the target is idempotent).
        RetryPolicy: { MaximumEventAgeInSeconds: 86_400, MaximumRetryAttempts: 185 },
        ...(this.o.deadLetterArn ? { DeadLetterConfig: { Arn: this.o.deadLetterArn } } : {}),
      },
    };
    try {
      await this.o.client.send(new CreateScheduleCommand(input));
      return;
    } catch (err) {
      if (!isError(err, "ConflictException")) throw err;
    }
    try {
      // UpdateSchedule replaces every setting: the new time, and the rest as above.
      await this.o.client.send(new UpdateScheduleCommand(input));
    } catch (err) {
      // It fired (and deleted itself) between the two calls: create it afresh.
      if (!isError(err, "ResourceNotFoundException")) throw err;
      await this.o.client.send(new CreateScheduleCommand(input));
    }
  }

  /** Deletes the workspace's schedule. Idempotent: a schedule already gone (or never made) is fine. */
  async cancel(workspaceId: string): Promise<void> {
    try {
      await this.o.client.send(
        new DeleteScheduleCommand({ Name: this.scheduleName(workspaceId), GroupName: this.o.group }),
      );
    } catch (err) {
      if (!isError(err, "ResourceNotFoundException")) throw err;
    }
  }
}

/**
 * Every AWS call the controller makes, in order, across services: each fake's Faults (and, for DynamoDB, a
 * middleware on the Store's client) reports to one log. A clean run of a step gives its calls; a faulted
 * run fails "the k-th call of command C of service S within the step" (robust to the order of concurrent
 * calls, e.g. the two KMS Decrypts of `permitKeys`), with the error that service really answers.
 */
import { injectFaults, type LocalTable } from "../../../packages/aws/src/dynalite-harness";
import { Faults } from "../../../packages/aws/src/testing/faults";
import { type FaultKind, type Service, serviceError } from "../../../packages/aws/src/testing/service-errors";

export interface Call {
  service: Service;
  command: string;
}

/** A call of a step: its position, and how many calls of the same service and command came before it. */
export interface NumberedCall extends Call {
  index: number;
  occurrence: number;
}

export class CallLog {
  readonly calls: Call[] = [];
  private readonly faults = new Map<Service, Faults>();
  private readonly lastInput = new Map<Service, unknown>();

  /** Records every call a fake's Faults sees. */
  watch(service: Service, faults: Faults): void {
    this.faults.set(service, faults);
    faults.observe((command, input) => {
      this.calls.push({ service, command });
      this.lastInput.set(service, input);
    });
  }

  /** Records (and can fail) every call of a DynamoDB client, before it is sent. */
  watchDynamo(client: LocalTable["client"]): void {
    const faults = new Faults();
    this.watch("dynamodb", faults);
    injectFaults(client, (commandName, input) => {
      const fault = faults.take(commandName.replace(/Command$/, ""), input);
      if (!fault) return undefined;
      return fault.after ? { after: fault.error } : { before: fault.error };
    });
  }

  /** Where the log is now: `since(mark())` gives the calls of what runs next. */
  mark(): number {
    return this.calls.length;
  }

  since(mark: number): NumberedCall[] {
    const seen = new Map<string, number>();
    return this.calls.slice(mark).map((c, index) => {
      const key = `${c.service}:${c.command}`;
      const occurrence = seen.get(key) ?? 0;
      seen.set(key, occurrence + 1);
      return { ...c, index, occurrence };
    });
  }

  /**
   * Makes `call` fail once with its service's error of `kind`; occurrences count from now. A `lost`
   * call takes effect, then fails (its response was lost).
   */
  fail(call: NumberedCall, kind: FaultKind): void {
    const faults = this.faults.get(call.service);
    if (!faults) throw new Error(`no fake for ${call.service}`);
    faults.fail(call.command, () => serviceError(call.service, kind, call.command, this.lastInput.get(call.service)), {
      skip: call.occurrence,
      after: kind === "lost",
    });
  }

  /** Drops every armed fault that has not fired. */
  clearFaults(): void {
    for (const f of this.faults.values()) f.clear();
  }
}

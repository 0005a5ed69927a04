import { describe, expect, it } from "vitest";
import { ConflictError } from "../errors";
import { transition, WORKSPACE_TRANSITIONS } from "./lifecycle";
import { WORKSPACE_STATUSES, type Workspace } from "./schema";

const ws = (status: Workspace["status"]): Workspace => ({
  id: "ws-1",
  permitId: "P",
  owner: "alice",
  status,
  createdAt: "",
  expiresAt: "",
  terminatedAt: null,
  terminationReason: null,
});

describe("workspace state machine", () => {
  it("has a row for every status and only known targets", () => {
    expect(Object.keys(WORKSPACE_TRANSITIONS).sort()).toEqual([...WORKSPACE_STATUSES].sort());
    for (const targets of Object.values(WORKSPACE_TRANSITIONS)) {
      for (const t of targets) expect(WORKSPACE_STATUSES).toContain(t);
    }
  });

  it("allows exactly the transitions of the table and throws a 409 for the rest", () => {
    for (const from of WORKSPACE_STATUSES) {
      for (const to of WORKSPACE_STATUSES) {
        const allowed = WORKSPACE_TRANSITIONS[from].includes(to);
        if (allowed) expect(transition(ws(from), to).status).toBe(to);
        else expect(() => transition(ws(from), to)).toThrow(ConflictError);
      }
    }
  });

  it("makes terminated and failed final", () => {
    expect(WORKSPACE_TRANSITIONS.terminated).toEqual([]);
    expect(WORKSPACE_TRANSITIONS.failed).toEqual([]);
  });
});

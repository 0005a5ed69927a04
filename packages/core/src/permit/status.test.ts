import { describe, expect, it } from "vitest";
import type { PermitRecord } from "./schema";
import { PERMIT_ADMIN_TRANSITIONS, permitStatus } from "./status";

const permit = (over: Partial<PermitRecord> = {}) =>
  ({
    validFrom: "2026-01-01T00:00:00.000Z",
    validUntil: "2027-01-01T00:00:00.000Z",
    adminState: "normal",
    ...over,
  }) as PermitRecord;
const at = (iso: string) => new Date(iso);

describe("permitStatus", () => {
  it.each([
    ["2025-12-31T23:59:59.999Z", {}, "pending"],
    ["2026-01-01T00:00:00.000Z", {}, "active"],
    ["2026-12-31T23:59:59.999Z", {}, "active"],
    ["2027-01-01T00:00:00.000Z", {}, "expired"],
    ["2026-06-01T00:00:00.000Z", { adminState: "suspended" }, "suspended"],
    ["2027-06-01T00:00:00.000Z", { adminState: "suspended" }, "expired"],
    ["2026-06-01T00:00:00.000Z", { adminState: "revoked" }, "revoked"],
    ["2027-06-01T00:00:00.000Z", { adminState: "revoked" }, "revoked"],
  ] as const)("at %s with %j is %s", (now, over, expected) => {
    expect(permitStatus(permit(over as Partial<PermitRecord>), at(now))).toBe(expected);
  });

  it("makes revoke final", () => {
    expect(PERMIT_ADMIN_TRANSITIONS.revoked).toEqual([]);
  });
});

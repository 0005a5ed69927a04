/** Permit status, derived from the clock and what admins did; and the admin transition table. */
import type { TransitionTable } from "../state-machine";
import type { AdminState, Permit, PermitRecord, PermitStatus } from "./schema";

export const PERMIT_ADMIN_TRANSITIONS: TransitionTable<AdminState> = {
  normal: ["suspended", "revoked"],
  suspended: ["normal", "revoked"],
  revoked: [],
};

/** Revoked is final; past validUntil a permit is expired whatever else; then suspension; then the window. */
export function permitStatus(p: PermitRecord, now: Date): PermitStatus {
  if (p.adminState === "revoked") return "revoked";
  const t = now.toISOString();
  if (t >= p.validUntil) return "expired";
  if (p.adminState === "suspended") return "suspended";
  if (t < p.validFrom) return "pending";
  return "active";
}

export function permitView(p: PermitRecord, now: Date): Permit {
  const { adminState: _a, expiryProcessedAt: _e, ...rest } = p;
  return { ...rest, status: permitStatus(p, now) };
}

/** Who is calling: the authenticated subject and their roles, as established at the edge. */
import { ForbiddenError } from "./errors";

export const ROLES = ["researcher", "reviewer", "admin", "auditor"] as const;
export type Role = (typeof ROLES)[number];

export interface Actor {
  /** The subject (`sub` claim), or `system:<component>` for the controller's own actions. */
  readonly sub: string;
  readonly roles: readonly Role[];
}

export const systemActor = (component: string): Actor => ({ sub: `system:${component}`, roles: ["admin"] });

export const hasRole = (actor: Actor, ...roles: Role[]): boolean => roles.some((r) => actor.roles.includes(r));

/** @throws ForbiddenError (403) when the actor holds none of `roles`. */
export function requireRole(actor: Actor, action: string, ...roles: Role[]): void {
  if (!hasRole(actor, ...roles)) {
    throw new ForbiddenError("auth.role_required", `${action} requires one of the roles: ${roles.join(", ")}`);
  }
}

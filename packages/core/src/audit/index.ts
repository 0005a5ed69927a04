/** Audit use cases: admins and auditors read and verify the trail. */
import { type Actor, requireRole } from "../actor";
import type { AuditLog, Signer } from "../ports";
import type { AuditQuery } from "./record";
import { verifyLog } from "./verify";

export * from "./record";
export * from "./seal";
export * from "./verify";

type D = { audit: AuditLog; signer: Pick<Signer, "verify"> };

export const Audit = {
  list: (deps: D, actor: Actor, q: AuditQuery) => {
    requireRole(actor, "read the audit trail", "admin", "auditor");
    return deps.audit.query(q);
  },
  verify: (deps: D, actor: Actor) => {
    requireRole(actor, "verify the audit trail", "admin", "auditor");
    return verifyLog(deps.audit, deps.signer);
  },
};

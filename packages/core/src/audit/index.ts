/** Audit use cases: admins and auditors read and verify the trail. */
import type { Actor } from "../actor";
import type { AuditLog, Signer, Store } from "../ports";
import { requireRoleAudited } from "../usecase";
import type { AuditQuery } from "./record";
import { verifyLog } from "./verify";

export * from "./archive";
export * from "./record";
export * from "./seal";
export * from "./verify";

type D = { audit: AuditLog; signer: Pick<Signer, "verify">; store: Pick<Store, "commit"> };

export const Audit = {
  list: async (deps: D, actor: Actor, q: AuditQuery) => {
    const ctx = { actor, action: "audit.read", target: "audit/*" };
    await requireRoleAudited(deps.store, ctx, "read the audit trail", "admin", "auditor");
    return deps.audit.query(q);
  },
  verify: async (deps: D, actor: Actor) => {
    const ctx = { actor, action: "audit.verify", target: "audit/*" };
    await requireRoleAudited(deps.store, ctx, "verify the audit trail", "admin", "auditor");
    return verifyLog(deps.audit, deps.signer);
  },
};

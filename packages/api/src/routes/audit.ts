/** /v1/audit and /v1/audit/verify */
import { createRoute } from "@hono/zod-openapi";
import { Audit, AuditQuery } from "@spe/core";
import type { ApiDeps, App } from "../env";
import { AuditRecordSchema, errors, json, listOf, VerifySchema } from "../schemas";

const tags = ["audit"];
const security = [{ bearer: [] }];

export function auditRoutes(app: App, deps: ApiDeps): void {
  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/audit",
      tags,
      security,
      summary: "Search the audit trail (admin, auditor)",
      request: { query: AuditQuery },
      responses: { 200: json(listOf(AuditRecordSchema, "AuditList"), "records"), ...errors(400, 401, 403) },
    }),
    async (c) => c.json(await Audit.list(deps, c.get("actor"), c.req.valid("query")), 200),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/audit/verify",
      tags,
      security,
      summary: "Verify the hash chain and its signed seals (admin, auditor)",
      responses: { 200: json(VerifySchema, "the verification result"), ...errors(401, 403) },
    }),
    async (c) => c.json(await Audit.verify(deps, c.get("actor")), 200),
  );
}

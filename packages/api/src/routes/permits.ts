/** /v1/permits */
import { createRoute } from "@hono/zod-openapi";
import { ListParams, OptionalReasonInput, Permit, PermitInput, ReasonInput } from "@spe/core";
import type { ApiDeps, App } from "../env";
import { body, errors, IdempotencyHeader, IdParam, json, listOf, PermitSchema } from "../schemas";

const tags = ["permits"];
const security = [{ bearer: [] }];

export function permitRoutes(app: App, deps: ApiDeps): void {
  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/permits",
      tags,
      security,
      summary: "Create a permit (admin)",
      request: { headers: IdempotencyHeader, ...body(PermitInput) },
      responses: { 201: json(PermitSchema, "the permit"), ...errors(400, 401, 403, 409, 413) },
    }),
    async (c) => {
      const idem = c.req.valid("header")["idempotency-key"];
      const input = c.req.valid("json");
      const { permit } = await Permit.create(
        deps,
        c.get("actor"),
        input,
        idem ? { key: idem, scope: "POST /v1/permits", request: input } : undefined,
      );
      return c.json(permit, 201);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/permits",
      tags,
      security,
      summary: "List permits (researchers: those naming them)",
      request: { query: ListParams },
      responses: { 200: json(listOf(PermitSchema, "PermitList"), "permits"), ...errors(400, 401, 403) },
    }),
    async (c) => c.json(await Permit.list(deps, c.get("actor"), c.req.valid("query")), 200),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/permits/{id}",
      tags,
      security,
      summary: "Read a permit",
      request: { params: IdParam("id") },
      responses: { 200: json(PermitSchema, "the permit"), ...errors(401, 403, 404) },
    }),
    async (c) => c.json(await Permit.get(deps, c.get("actor"), c.req.valid("param").id as string), 200),
  );

  const actions = [
    { verb: "suspend", input: ReasonInput, run: Permit.suspend, summary: "Suspend a permit; its workspaces terminate" },
    { verb: "reinstate", input: OptionalReasonInput, run: Permit.reinstate, summary: "Reinstate a suspended permit" },
    {
      verb: "revoke",
      input: ReasonInput,
      run: Permit.revoke,
      summary: "Revoke a permit (final); its workspaces terminate",
    },
  ] as const;
  for (const a of actions) {
    app.openapi(
      createRoute({
        method: "post",
        path: `/v1/permits/{id}/${a.verb}`,
        tags,
        security,
        summary: `${a.summary} (admin)`,
        request: { params: IdParam("id"), ...body(a.input) },
        responses: { 200: json(PermitSchema, "the permit"), ...errors(400, 401, 403, 404, 409) },
      }),
      async (c) => {
        const { reason } = c.req.valid("json") as { reason?: string };
        const id = c.req.valid("param").id as string;
        return c.json(await a.run(deps, c.get("actor"), id, reason as string), 200);
      },
    );
  }
}

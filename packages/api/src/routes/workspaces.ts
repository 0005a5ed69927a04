/** /v1/workspaces and launching under /v1/permits/{permitId}/workspaces */
import { createRoute, z } from "@hono/zod-openapi";
import { ExtendInput, LaunchInput, ListParams, WORKSPACE_STATUSES, Workspace } from "@spe/core";
import type { ApiDeps, App } from "../env";
import { body, errors, IdempotencyHeader, IdParam, json, listOf, WorkspaceSchema } from "../schemas";

const tags = ["workspaces"];
const security = [{ bearer: [] }];

const WorkspaceListQuery = ListParams.extend({
  permitId: z.string().max(128).optional(),
  status: z.enum(WORKSPACE_STATUSES).optional(),
});

export function workspaceRoutes(app: App, deps: ApiDeps): void {
  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/permits/{permitId}/workspaces",
      tags,
      security,
      summary: "Launch a workspace (a researcher named on the permit)",
      request: { params: IdParam("permitId"), headers: IdempotencyHeader, ...body(LaunchInput) },
      responses: { 202: json(WorkspaceSchema, "the workspace, provisioning"), ...errors(400, 401, 403, 404, 409, 413) },
    }),
    async (c) => {
      const permitId = c.req.valid("param").permitId as string;
      const idem = c.req.valid("header")["idempotency-key"];
      const input = c.req.valid("json");
      const scope = `POST /v1/permits/${permitId}/workspaces`;
      const { workspace } = await Workspace.launch(
        deps,
        c.get("actor"),
        permitId,
        input,
        idem ? { key: idem, scope, request: input } : undefined,
      );
      return c.json(workspace, 202);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/workspaces",
      tags,
      security,
      summary: "List workspaces (own; admin: all)",
      request: { query: WorkspaceListQuery },
      responses: { 200: json(listOf(WorkspaceSchema, "WorkspaceList"), "workspaces"), ...errors(400, 401, 403) },
    }),
    async (c) => c.json(await Workspace.list(deps, c.get("actor"), c.req.valid("query")), 200),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/workspaces/{id}",
      tags,
      security,
      summary: "Read a workspace (owner, admin)",
      request: { params: IdParam("id") },
      responses: { 200: json(WorkspaceSchema, "the workspace"), ...errors(401, 403, 404) },
    }),
    async (c) => c.json(await Workspace.get(deps, c.get("actor"), c.req.valid("param").id as string), 200),
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/workspaces/{id}/extend",
      tags,
      security,
      summary: "Extend a workspace within the permit's limits",
      request: { params: IdParam("id"), ...body(ExtendInput) },
      responses: { 200: json(WorkspaceSchema, "the workspace"), ...errors(400, 401, 403, 404, 409) },
    }),
    async (c) =>
      c.json(await Workspace.extend(deps, c.get("actor"), c.req.valid("param").id as string, c.req.valid("json")), 200),
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/v1/workspaces/{id}",
      tags,
      security,
      summary: "Terminate a workspace",
      request: { params: IdParam("id") },
      responses: { 202: json(WorkspaceSchema, "the workspace"), ...errors(401, 403, 404, 409) },
    }),
    async (c) => c.json(await Workspace.terminate(deps, c.get("actor"), c.req.valid("param").id as string), 202),
  );
}

/** /v1/datasets */
import { createRoute } from "@hono/zod-openapi";
import { Dataset, DatasetInput, ListParams } from "@spe/core";
import type { ApiDeps, App } from "../env";
import { body, DatasetSchema, errors, IdempotencyHeader, IdParam, json, listOf } from "../schemas";

const tags = ["datasets"];
const security = [{ bearer: [] }];

export function datasetRoutes(app: App, deps: ApiDeps): void {
  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/datasets",
      tags,
      security,
      summary: "Register a dataset (admin)",
      request: { headers: IdempotencyHeader, ...body(DatasetInput) },
      responses: { 201: json(DatasetSchema, "the dataset"), ...errors(400, 401, 403, 409, 413) },
    }),
    async (c) => {
      const idem = c.req.valid("header")["idempotency-key"];
      const input = c.req.valid("json");
      const { dataset } = await Dataset.create(
        deps,
        c.get("actor"),
        input,
        idem ? { key: idem, scope: "POST /v1/datasets", request: input } : undefined,
      );
      return c.json(dataset, 201);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/datasets",
      tags,
      security,
      summary: "List datasets",
      request: { query: ListParams },
      responses: { 200: json(listOf(DatasetSchema, "DatasetList"), "datasets"), ...errors(400, 401, 403) },
    }),
    async (c) => c.json(await Dataset.list(deps, c.get("actor"), c.req.valid("query")), 200),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/datasets/{id}",
      tags,
      security,
      summary: "Read a dataset",
      request: { params: IdParam("id") },
      responses: { 200: json(DatasetSchema, "the dataset"), ...errors(401, 403, 404) },
    }),
    async (c) => c.json(await Dataset.get(deps, c.get("actor"), c.req.valid("param").id as string), 200),
  );
}

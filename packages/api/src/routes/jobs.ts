/** /v1/workspaces/{id}/jobs: run a command in the workspace's sandbox and read its result. */
import { createRoute, z } from "@hono/zod-openapi";
import { Job, JobInput } from "@spe/core";
import type { ApiDeps, App } from "../env";
import { body, errors, IdParam, JobSchema, json } from "../schemas";

const tags = ["jobs"];
const security = [{ bearer: [] }];

export function jobRoutes(app: App, deps: ApiDeps): void {
  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/workspaces/{id}/jobs",
      tags,
      security,
      summary: "Run a command in the workspace (owner, workspace ready); at most 2 run at once, the rest queue",
      request: { params: IdParam("id"), ...body(JobInput) },
      responses: {
        202: json(JobSchema, "the job, queued or running"),
        ...errors(400, 401, 403, 404, 409, 413, 503),
      },
    }),
    async (c) => {
      const job = await Job.submit(deps, c.get("actor"), c.req.valid("param").id as string, c.req.valid("json"));
      return c.json(job, 202);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/workspaces/{id}/jobs/{jobId}",
      tags,
      security,
      summary: "Read a job: status, exit code, and the last 1 MiB of stdout and stderr (owner)",
      request: { params: z.object({ ...IdParam("id").shape, ...IdParam("jobId").shape }) },
      responses: { 200: json(JobSchema, "the job"), ...errors(401, 403, 404) },
    }),
    async (c) => {
      const { id, jobId } = c.req.valid("param") as { id: string; jobId: string };
      return c.json(await Job.get(deps, c.get("actor"), id, jobId), 200);
    },
  );
}

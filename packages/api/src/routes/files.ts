/** /v1/workspaces/{id}/files: uploads into home/ (raw bytes) and listings of outputs/ (or home/). */
import { createRoute, z } from "@hono/zod-openapi";
import { Files } from "@spe/core";
import { bodyLimit } from "hono/body-limit";
import type { ApiDeps, App } from "../env";
import { problem, problemResponse } from "../problem";
import { errors, FileSchema, IdParam, json } from "../schemas";

const tags = ["files"];
const security = [{ bearer: [] }];

/** The upload route, which takes raw bytes rather than JSON. */
export const UPLOAD_PATH = /^\/v1\/workspaces\/[^/]+\/files\/home\//;

export function fileRoutes(app: App, deps: ApiDeps): void {
  const limit = deps.policy.maxUploadBytes;
  app.put(
    "/v1/workspaces/:id/files/home/*",
    bodyLimit({
      maxSize: limit,
      // The rest of the body is never read: the connection cannot be reused, so say so.
      onError: (c) => {
        c.header("connection", "close");
        return problemResponse(c, problem(413, "file.too_large", `uploads are limited to ${limit} bytes per file`));
      },
    }),
    async (c) => {
      const raw = new URL(c.req.url).pathname.replace(UPLOAD_PATH, "");
      let path: string;
      try {
        path = decodeURIComponent(raw);
      } catch {
        return problemResponse(c, problem(400, "file.invalid_path", "the path is not valid percent-encoding"));
      }
      const id = IdParam("id").safeParse({ id: c.req.param("id") });
      if (!id.success) return problemResponse(c, problem(400, "request.invalid", "the workspace id is invalid"));
      const bytes = new Uint8Array(await c.req.arrayBuffer());
      return c.json(await Files.upload(deps, c.get("actor"), id.data.id as string, path, bytes), 201);
    },
  );
  app.openAPIRegistry.registerPath({
    method: "put",
    path: "/v1/workspaces/{id}/files/home/{path}",
    tags,
    security,
    summary: "Upload a file into the workspace's home/ (owner, workspace ready)",
    description: `The body is the file's raw bytes (any content type), at most ${limit} bytes. The path may contain '/'; '..', absolute paths, NUL bytes and symlinks leading out of home/ are refused and nothing is written.`,
    request: {
      params: z.object({ id: z.string(), path: z.string() }),
      body: { content: { "application/octet-stream": { schema: z.string().openapi({ format: "binary" }) } } },
    },
    responses: { 201: json(FileSchema, "the stored file"), ...errors(400, 401, 403, 404, 409, 413) },
  });

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/workspaces/{id}/files",
      tags,
      security,
      summary: "List the files of outputs/ (or home/) with sizes and SHA-256 (owner, workspace ready)",
      description: "No route returns the content of data/ or outputs/: outputs leave only through egress.",
      request: {
        params: IdParam("id"),
        query: z.strictObject({ dir: z.enum(["outputs", "home"]).default("outputs") }),
      },
      responses: {
        200: json(z.object({ items: z.array(FileSchema) }).openapi("FileList"), "the files"),
        ...errors(400, 401, 403, 404, 409),
      },
    }),
    async (c) => {
      const items = await Files.list(deps, c.get("actor"), c.req.valid("param").id as string, c.req.valid("query").dir);
      return c.json({ items }, 200);
    },
  );
}

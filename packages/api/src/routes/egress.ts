/** /v1/egress-requests and /v1/workspaces/{id}/egress-requests; `/dl/...` serves download links (no token). */
import { createRoute, z } from "@hono/zod-openapi";
import { EGRESS_STATUSES, Egress, EgressInput, ListParams, ReviewInput } from "@spe/core";
import { stream } from "hono/streaming";
import type { ApiDeps, App } from "../env";
import { body, EgressSchema, errors, IdParam, json, listOf } from "../schemas";

const tags = ["egress"];
const security = [{ bearer: [] }];

const EgressListQuery = ListParams.extend({
  status: z.enum(EGRESS_STATUSES).optional(),
  permitId: z.string().max(128).optional(),
  workspaceId: z.string().max(128).optional(),
});

export function egressRoutes(app: App, deps: ApiDeps): void {
  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/workspaces/{id}/egress-requests",
      tags,
      security,
      summary: "Request the release of output files (workspace owner); they are snapshotted and checked",
      request: { params: IdParam("id"), ...body(EgressInput) },
      responses: { 201: json(EgressSchema, "the request"), ...errors(400, 401, 403, 404, 409, 413) },
    }),
    async (c) =>
      c.json(await Egress.request(deps, c.get("actor"), c.req.valid("param").id as string, c.req.valid("json")), 201),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/egress-requests",
      tags,
      security,
      summary: "List egress requests (reviewers, admins, auditors: all; researchers: their own)",
      request: { query: EgressListQuery },
      responses: { 200: json(listOf(EgressSchema, "EgressList"), "requests"), ...errors(400, 401, 403) },
    }),
    async (c) => c.json(await Egress.list(deps, c.get("actor"), c.req.valid("query")), 200),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/egress-requests/{id}",
      tags,
      security,
      summary: "Read an egress request with its files, findings and reviews",
      request: { params: IdParam("id") },
      responses: { 200: json(EgressSchema, "the request"), ...errors(401, 404) },
    }),
    async (c) => c.json(await Egress.get(deps, c.get("actor"), c.req.valid("param").id as string), 200),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/egress-requests/{id}/files/{index}",
      tags,
      security,
      summary: "The snapshot content of one file, for reviewers (audited)",
      request: { params: z.object({ ...IdParam("id").shape, index: z.coerce.number().int().min(0).max(49) }) },
      responses: {
        200: { description: "the snapshot's bytes", content: { "application/octet-stream": { schema: z.string() } } },
        ...errors(400, 401, 403, 404),
      },
    }),
    async (c) => {
      const { id, index } = c.req.valid("param") as { id: string; index: number };
      const file = await Egress.fileContent(deps, c.get("actor"), id, index);
      // Never rendered by a browser: a download of inert bytes, whatever the file claims to be.
      return c.body(new Uint8Array(file.bytes), 200, {
        "content-type": "application/octet-stream",
        "content-disposition": `attachment; filename="${encodeURIComponent(file.path.split("/").at(-1) ?? "file")}"`,
        "x-content-sha256": file.sha256,
        "x-content-type-options": "nosniff",
      });
    },
  );

  for (const [verb, summary] of [["withdraw", "Withdraw a request still pending review (requester)"]] as const) {
    app.openapi(
      createRoute({
        method: "post",
        path: `/v1/egress-requests/{id}/${verb}`,
        tags,
        security,
        summary,
        request: { params: IdParam("id") },
        responses: { 200: json(EgressSchema, "the request"), ...errors(401, 403, 404, 409) },
      }),
      async (c) => c.json(await Egress.withdraw(deps, c.get("actor"), c.req.valid("param").id as string), 200),
    );
  }

  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/egress-requests/{id}/reviews",
      tags,
      security,
      summary: "Review a request (reviewer, never the requester): approve, reject or request changes",
      request: { params: IdParam("id"), ...body(ReviewInput) },
      responses: { 200: json(EgressSchema, "the updated request"), ...errors(400, 401, 403, 404, 409) },
    }),
    async (c) =>
      c.json(await Egress.review(deps, c.get("actor"), c.req.valid("param").id as string, c.req.valid("json")), 200),
  );

  const LinksSchema = z
    .object({ files: z.array(z.object({ path: z.string(), url: z.string(), expiresAt: z.string() })) })
    .openapi("DownloadLinks");
  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/egress-requests/{id}/downloads",
      tags,
      security,
      summary: "Short-lived, count-capped download links for an approved request (requester)",
      request: { params: IdParam("id") },
      responses: { 201: json(LinksSchema, "one link per file"), ...errors(401, 403, 404, 409) },
    }),
    async (c) => {
      const { files } = await Egress.downloads(deps, c.get("actor"), c.req.valid("param").id as string);
      const origin = new URL(c.req.url).origin;
      return c.json({ files: files.map((f) => ({ ...f, url: origin + f.url })) }, 201);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/egress-requests/{id}/release-record",
      tags,
      security,
      summary: "The release record of an approved request: a Five Safes RO-Crate (admins, auditors)",
      request: { params: IdParam("id") },
      responses: {
        200: json(z.record(z.string(), z.unknown()).openapi("ReleaseRecord"), "ro-crate-metadata.json (JSON-LD)"),
        ...errors(401, 403, 404, 409),
      },
    }),
    async (c) => {
      const crate = await Egress.releaseRecord(deps, c.get("actor"), c.req.valid("param").id as string);
      c.header("content-disposition", 'attachment; filename="ro-crate-metadata.json"');
      return c.json(crate, 200);
    },
  );

  // The link is the credential (like a presigned URL): no bearer token.
  app.get("/dl/:grant/:secret", async (c) => {
    const grantId = c.req.param("grant");
    const file = await Egress.redeem(deps, grantId, c.req.param("secret"));
    c.header("cache-control", "no-store");
    if (deps.offloadDownload) {
      // The use is spent and audited above; the redirect target carries the same bytes and their SHA-256.
      return c.redirect(await deps.offloadDownload({ grantId, ...file }), 302);
    }
    c.header("content-type", "application/octet-stream");
    c.header("content-length", String(file.bytes));
    c.header(
      "content-disposition",
      `attachment; filename="${encodeURIComponent(file.path.split("/").at(-1) ?? "file")}"`,
    );
    c.header("x-content-sha256", file.sha256);
    return stream(c, async (s) => {
      for await (const chunk of file.body) await s.write(chunk);
    });
  });
}

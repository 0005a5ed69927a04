/**
 * createApp(deps): the hono application, the same on one node (@hono/node-server) and on Lambda
 * (hono/aws-lambda). Routes validate with core's zod schemas; every error is problem+json.
 */
import { randomUUID } from "node:crypto";
import { OpenAPIHono } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { secureHeaders } from "hono/secure-headers";
import { consoleRoutes } from "./console";
import type { ApiDeps, App, Env } from "./env";
import { authenticate } from "./middleware/auth";
import { jsonBodies } from "./middleware/json-only";
import { requestLog } from "./middleware/request-log";
import { fieldErrors, problem, problemResponse, toProblem } from "./problem";
import { auditRoutes } from "./routes/audit";
import { datasetRoutes } from "./routes/datasets";
import { egressRoutes } from "./routes/egress";
import { fileRoutes, UPLOAD_PATH } from "./routes/files";
import { jobRoutes } from "./routes/jobs";
import { permitRoutes } from "./routes/permits";
import { workspaceRoutes } from "./routes/workspaces";

export const MAX_JSON_BODY = 1024 * 1024;

export function createApp(deps: ApiDeps): App {
  const app: App = new OpenAPIHono<Env>({
    defaultHook: (result, c) => {
      if (!result.success) {
        const errs = fieldErrors(result.error.issues);
        const first = errs[0] ? ` (${errs[0].path}: ${errs[0].message}${errs.length > 1 ? ", ..." : ""})` : "";
        const detail = `the request ${result.target} is invalid${first}; every problem is listed in errors`;
        return problemResponse(c, problem(400, "request.invalid", detail, errs));
      }
    },
  });

  app.use("*", requestLog(deps.log));
  // The console sets stricter headers of its own (CSP, X-Frame-Options: DENY); these must not overwrite them.
  const apiHeaders = secureHeaders();
  app.use("*", (c, next) => (/^\/console(\/|$)/.test(c.req.path) ? next() : apiHeaders(c, next)));
  app.use("/v1/*", authenticate({ verify: deps.verifyToken, store: deps.store }));
  const limitBody = bodyLimit({
    maxSize: MAX_JSON_BODY,
    onError: (c) => {
      c.header("connection", "close"); // the unread rest of the body makes the connection unusable
      return problemResponse(
        c,
        problem(413, "request.too_large", `request bodies are limited to ${MAX_JSON_BODY} bytes`),
      );
    },
  });
  // Only on methods that carry a body: looking at the body makes @hono/node-server build a full Request,
  // which costs a GET more than everything else it does.
  const onlyJson = jsonBodies();
  for (const method of ["POST", "PUT", "PATCH"] as const) {
    // Uploads carry raw bytes under their own limit (routes/files.ts).
    app.on(method, "/v1/*", (c, next) => (UPLOAD_PATH.test(c.req.path) ? next() : limitBody(c, next)));
    app.on(method, "/v1/*", (c, next) => (UPLOAD_PATH.test(c.req.path) ? next() : onlyJson(c, next)));
  }

  app.get("/health", (c) => c.json({ status: "ok" }));
  datasetRoutes(app, deps);
  permitRoutes(app, deps);
  workspaceRoutes(app, deps);
  fileRoutes(app, deps);
  jobRoutes(app, deps);
  egressRoutes(app, deps);
  auditRoutes(app, deps);
  consoleRoutes(app, deps);

  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
  });
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "SPE controller API",
      version: "1.0.0",
      description: "Secure processing environment controller for EHDS health data access bodies",
    },
  });

  app.notFound((c) => problemResponse(c, problem(404, "route.not_found", `no route ${c.req.method} ${c.req.path}`)));
  app.onError((err, c) => {
    const p = toProblem(err, (e) => {
      const ref = randomUUID();
      deps.log({ msg: "unexpected error", ref, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
      return ref;
    });
    return problemResponse(c, p);
  });
  return app;
}

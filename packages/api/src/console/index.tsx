/** @jsxImportSource hono/jsx */
/**
 * The reviewer and admin web console, served by the API's own app under /console: server-rendered pages
 * (hono/jsx) over the same core use cases as the JSON API, so every rule is enforced once, on the server.
 * Order of the layers: security headers (CSP) on everything; the static script and stylesheet; hono's
 * Origin check on every form post; the sign-in routes; then a session and a CSRF token for all the rest.
 */
import type { Hono as HonoT } from "hono";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { csrf } from "hono/csrf";
import type { ApiDeps, App } from "../env";
import { adminAuditRoutes } from "./admin/audit";
import { adminDatasetRoutes } from "./admin/datasets";
import { adminPermitRoutes } from "./admin/permits";
import { adminReleaseRoutes } from "./admin/releases";
import { adminWorkspaceRoutes } from "./admin/workspaces";
import { requireCsrf } from "./csrf";
import { consoleHeaders } from "./headers";
import { Layout } from "./layout";
import { oidcRoutes } from "./oidc";
import { resolveOptions } from "./options";
import { ErrorPage, errorResponse, frameOf, send } from "./render";
import { decisionRoutes } from "./screens/decision";
import { fileReviewRoutes } from "./screens/file-review";
import { permitHistoryRoute } from "./screens/permit-history";
import { queueRoute } from "./screens/queue";
import { requestRoute } from "./screens/request";
import { requestActionRoutes } from "./screens/request-actions";
import { type ConsoleEnv, requireSession } from "./session";
import { signInRoutes, signOutRoute } from "./sign-in";
import { SignInLinks } from "./sign-in-links";
import { CONSOLE_JS } from "./static/script";
import { CONSOLE_CSS, FAVICON_SVG } from "./static/styles";

export type { ConsoleOptions, OidcOptions } from "./options";

/** Largest form the console accepts (a permit pasted as JSON is the biggest). */
const MAX_FORM_BYTES = 256 * 1024;

/** The console as a hono app of its own, to mount under /console. */
export function consoleApp(deps: ApiDeps): HonoT<ConsoleEnv> {
  const o = resolveOptions(deps.console);
  const ui = new Hono<ConsoleEnv>();
  const page = (status: 401 | 403 | 404 | 413, title: string, detail: string) => (c: Parameters<typeof send>[0]) =>
    send(
      c,
      <Layout title={title} {...frameOf(c, o)}>
        <ErrorPage status={status} title={title} detail={detail} />
      </Layout>,
      status,
    );

  ui.use("*", consoleHeaders());
  ui.use("*", async (_c, next) => {
    await o.ready();
    await next();
  });
  ui.use("*", bodyLimit({ maxSize: MAX_FORM_BYTES, onError: page(413, "Too large", "that form is too large") }));
  ui.get("/static/console.js", (c) =>
    c.body(CONSOLE_JS, 200, { "content-type": "text/javascript; charset=utf-8", "cache-control": "no-cache" }),
  );
  ui.get("/static/console.css", (c) =>
    c.body(CONSOLE_CSS, 200, { "content-type": "text/css; charset=utf-8", "cache-control": "no-cache" }),
  );
  ui.get("/static/favicon.svg", (c) =>
    c.body(FAVICON_SVG, 200, { "content-type": "image/svg+xml", "cache-control": "max-age=86400" }),
  );

  // A form posted from another origin is refused before anything reads it. POST /console/links (served only
  // where links are enabled) is called with a bearer token by the CLI, not by a browser with cookies: the
  // Origin check does not apply.
  const sameOrigin = csrf();
  ui.use("*", (c, next) => (c.req.path === "/console/links" ? next() : sameOrigin(c, next)));
  signInRoutes(ui, deps, o, new SignInLinks());
  oidcRoutes(ui, deps, o);

  ui.use(
    "*",
    requireSession(
      o,
      deps.store,
      page(401, "Sign in first", "your session has ended: sign in again, then repeat this"),
    ),
  );
  ui.use(
    "*",
    requireCsrf(
      o,
      page(
        403,
        "Not allowed",
        "this form was not sent by your console session (CSRF check): reload the page and try again",
      ),
    ),
  );
  signOutRoute(ui, deps, o);
  queueRoute(ui, deps, o);
  requestRoute(ui, deps, o);
  requestActionRoutes(ui, deps, o);
  fileReviewRoutes(ui, deps, o);
  decisionRoutes(ui, deps, o);
  permitHistoryRoute(ui, deps, o);
  adminDatasetRoutes(ui, deps, o);
  adminPermitRoutes(ui, deps, o);
  adminWorkspaceRoutes(ui, deps, o);
  adminAuditRoutes(ui, deps, o);
  adminReleaseRoutes(ui, deps, o);
  ui.get("/admin", (c) => c.redirect("/console/admin/permits", 303));
  const notFound = page(404, "Not found", "there is no such page in the console");
  ui.all("*", (c) => (c.req.path === "/console/" ? c.redirect("/console", 308) : notFound(c)));
  ui.onError((err, c) => errorResponse(c, o, err, deps.log));
  return ui;
}

/** Mounts the console on the API's app. */
export function consoleRoutes(app: App, deps: ApiDeps): void {
  app.route("/console", consoleApp(deps));
}

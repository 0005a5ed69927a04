/**
 * One structured log line per request: method, route, status, duration, caller. No bodies, no query
 * strings, and no download-link secrets (a link is a credential: whoever reads the log could use it).
 */
import type { MiddlewareHandler } from "hono";

const DOWNLOAD_LINK = /^(\/dl\/[^/]+\/).+$/;
export const loggablePath = (path: string) => path.replace(DOWNLOAD_LINK, "$1[secret]");

export type LogLine = Record<string, string | number | undefined>;

export const requestLog = (log: (line: LogLine) => void): MiddlewareHandler =>
  async function requestLog(c, next) {
    const start = performance.now();
    await next();
    log({
      msg: "request",
      method: c.req.method,
      path: loggablePath(c.req.path),
      route: c.req.routePath,
      status: c.res.status,
      ms: Math.round((performance.now() - start) * 10) / 10,
      actor: c.get("actor")?.sub,
    });
  };

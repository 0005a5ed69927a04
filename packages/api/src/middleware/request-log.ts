/** One structured log line per request: method, route, status, duration, caller. No bodies, no query strings. */
import type { MiddlewareHandler } from "hono";

export type LogLine = Record<string, string | number | undefined>;

export const requestLog = (log: (line: LogLine) => void): MiddlewareHandler =>
  async function requestLog(c, next) {
    const start = performance.now();
    await next();
    log({
      msg: "request",
      method: c.req.method,
      path: c.req.path,
      route: c.req.routePath,
      status: c.res.status,
      ms: Math.round((performance.now() - start) * 10) / 10,
      actor: c.get("actor")?.sub,
    });
  };

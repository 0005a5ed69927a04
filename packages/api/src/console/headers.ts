/**
 * The console's response headers: a strict Content-Security-Policy (scripts, styles and images from this
 * origin only, no inline script or style, no plugins, not framable, forms post here only), no caching of
 * pages that show request details, and no referrer. Built on hono/secure-headers.
 */
import type { MiddlewareHandler } from "hono";
import { secureHeaders } from "hono/secure-headers";

export const CONSOLE_CSP = {
  defaultSrc: ["'none'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'"],
  imgSrc: ["'self'"],
  connectSrc: ["'self'"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
  baseUri: ["'none'"],
};

export const consoleHeaders = (): MiddlewareHandler => {
  const secure = secureHeaders({
    contentSecurityPolicy: CONSOLE_CSP,
    xFrameOptions: "DENY",
    referrerPolicy: "no-referrer",
    crossOriginResourcePolicy: "same-origin",
    crossOriginOpenerPolicy: "same-origin",
  });
  return async function consoleHeaders(c, next) {
    await secure(c, async () => {
      await next();
      if (!c.res.headers.has("cache-control")) c.header("cache-control", "no-store");
    });
  };
};

/** Refuses a request body that is not declared as JSON (415), so a body can never be silently ignored. */
import type { MiddlewareHandler } from "hono";
import { problem, problemResponse } from "../problem";

export const jsonBodies = (): MiddlewareHandler =>
  async function jsonBodies(c, next) {
    const hasBody = c.req.header("content-length")
      ? c.req.header("content-length") !== "0"
      : !!c.req.header("transfer-encoding");
    const type = c.req.header("content-type") ?? "";
    if (hasBody && !/^application\/([a-z.+-]*\+)?json\s*(;|$)/i.test(type)) {
      return problemResponse(
        c,
        problem(415, "request.unsupported_media_type", "send the body as Content-Type: application/json"),
      );
    }
    await next();
  };

/** Authentication: a Bearer JWT on every /v1 route, verified by the injected verifier. Failures are audited. */
import type { Actor, Store } from "@spe/core";
import type { MiddlewareHandler } from "hono";
import { problem, problemResponse } from "../problem";

export type TokenVerifier = (token: string) => Promise<Actor>;

export interface AuthOptions {
  verify: TokenVerifier;
  store: Pick<Store, "commit">;
}

export const authenticate = (opts: AuthOptions): MiddlewareHandler =>
  async function authenticate(c, next) {
    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(header);
    let actor: Actor | null = null;
    let reason = "missing bearer token";
    if (match?.[1]) {
      try {
        actor = await opts.verify(match[1]);
      } catch (err) {
        reason = (err as { code?: string }).code === "ERR_JWT_EXPIRED" ? "token expired" : "invalid token";
      }
    }
    if (!actor) {
      await opts.store.commit({
        writes: [],
        audit: [
          {
            actor: "anonymous",
            action: "auth.denied",
            // The path is the caller's: keep it short and printable in the permanent record.
            target: `${c.req.method} ${c.req.path}`.replace(/[^\x21-\x7e ]/g, "?").slice(0, 200),
            outcome: "denied",
            details: { reason },
          },
        ],
      });
      return problemResponse(c, problem(401, "auth.unauthenticated", `${reason}: send Authorization: Bearer <JWT>`), {
        "WWW-Authenticate": 'Bearer realm="spe"',
      });
    }
    c.set("actor", actor);
    await next();
  };

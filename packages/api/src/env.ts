/** Types shared by the app and its routes. */
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Actor, Deps, Signer } from "@spe/core";
import type { TokenVerifier } from "./middleware/auth";
import type { LogLine } from "./middleware/request-log";

export interface ApiDeps extends Deps {
  signer: Pick<Signer, "verify">;
  verifyToken: TokenVerifier;
  log: (line: LogLine) => void;
}

export type Env = { Variables: { actor: Actor } };
export type App = OpenAPIHono<Env>;

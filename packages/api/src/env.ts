/** Types shared by the app and its routes. */
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Actor, Deps, RedeemedDownload, Signer } from "@spe/core";
import type { ConsoleOptions } from "./console/options";
import type { TokenVerifier } from "./middleware/auth";
import type { LogLine } from "./middleware/request-log";

/** A redeemed download, handed to `offloadDownload`, with the link's grant id. */
export interface OffloadedFile extends RedeemedDownload {
  grantId: string;
}

export interface ApiDeps extends Deps {
  signer: Pick<Signer, "verify">;
  verifyToken: TokenVerifier;
  log: (line: LogLine) => void;
  /**
   * Serves a redeemed download from object storage instead of through this process, returning a short-lived
   * URL the client is redirected to. AWS sets it (a presigned S3 GET: Lambda responses are capped at 6 MB);
   * one node streams the file itself.
   */
  offloadDownload?: (file: OffloadedFile) => Promise<string>;
  /** The web console's sign-in settings (session key, OIDC); the defaults suit one node. */
  console?: ConsoleOptions;
}

export type Env = { Variables: { actor: Actor } };
export type App = OpenAPIHono<Env>;

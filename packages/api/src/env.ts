/** Types shared by the app and its routes. */
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Actor, Deps, Signer } from "@spe/core";
import type { ConsoleOptions } from "./console/options";
import type { TokenVerifier } from "./middleware/auth";
import type { LogLine } from "./middleware/request-log";

/** A redeemed download, handed to `offloadDownload`: the released plaintext and what identifies it. */
export interface OffloadedFile {
  grantId: string;
  permitId: string;
  path: string;
  bytes: number;
  sha256: string;
  body: AsyncIterable<Uint8Array>;
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

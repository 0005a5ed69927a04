/** @spe/api: the HTTP API of the SPE controller. */
export { createApp, MAX_JSON_BODY } from "./app";
export type { ApiDeps, App, OffloadedFile } from "./env";
export { type JwtVerifierOptions, jwtVerifier } from "./jwt";
export type { TokenVerifier } from "./middleware/auth";
export { type Problem, problem } from "./problem";

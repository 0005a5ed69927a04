/** @spe/core: the domain of the SPE controller. No AWS SDK, no hono, no node:fs. */
export * from "./actor";
export * from "./audit";
export * from "./dataset";
export * from "./egress";
export * from "./errors";
export * from "./job";
export * from "./paging";
export * from "./permit";
export * from "./ports";
export * from "./prng";
export * from "./schema-common";
export * from "./state-machine";
export * from "./sweep";
export * from "./system";
export * from "./usecase";
export * from "./workspace";

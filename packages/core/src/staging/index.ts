/**
 * Staging primitives: pure, streaming building blocks that the workspace use cases compose to stage
 * datasets, snapshot outputs and check egress. Streams are `AsyncIterable<Uint8Array>` in and
 * `AsyncGenerator<Uint8Array>` out; nothing here touches the file system or the network.
 */
export * from "./cipher";
export * from "./csv-pseudonymise";
export * from "./digest";
export * from "./errors";
export * from "./hmac-sha256";
export * from "./identifier-set";
export * from "./normalise";
export * from "./pseudonym";

/**
 * Names the stacks and the adapters must agree on (shared with stacks/, so no AWS SDK here): key prefixes the
 * bucket rules know, and the encryption context the API's IAM policy admits for the console's key.
 */

/** One-time copies behind presigned download links, in the releases bucket: expired after a day. */
export const DOWNLOADS_PREFIX = "downloads/";

/** The encryption context of the console's session-cookie key (console-key.ts) under the platform key. */
export const CONSOLE_KEY_PURPOSE = { name: "spe:purpose", value: "console-session" } as const;

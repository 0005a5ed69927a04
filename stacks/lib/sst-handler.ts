/**
 * SST v2 puts a `CustomResourceHandler` Lambda in every stack (x86_64, an AWS managed policy, an unencrypted
 * log group with no retention) for the constructs that need one: sourcemap uploads, SSR sites, WebSocket APIs,
 * secret prefetching. This app uses none of them (sourcemaps stay inside the bundles: `sourcemap: true` in
 * functions/lib/bundling.ts), so the handler is removed rather than deployed idle; test/stacks checks that no
 * template refers to anything missing and that the bundling keeps maps out of SST's upload path.
 */
import type { App } from "sst/constructs";
import { Stack } from "sst/constructs";

/** The construct id SST gives the handler (sst/constructs/Stack.js). */
const HANDLER_ID = "CustomResourceHandler";

/** Removes SST's unused custom-resource handler from every stack of the app. Call after defining the stacks. */
export function dropUnusedSstHandlers(app: App): void {
  for (const child of app.node.children) {
    if (child instanceof Stack) child.node.tryRemoveChild(HANDLER_ID);
  }
}

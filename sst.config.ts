/**
 * SST v2 app of the SPE controller on AWS (`sst deploy`): the stacks in dependency order. The single-node
 * SPE (`npm start`) does not use this file.
 *
 * Resources first, functions last: every function's environment names resources of all the stacks before it
 * (packages/aws/src/config.ts). Deploy-time settings come from the environment of `sst deploy`
 * (stacks/lib/deploy-config.ts): SPE_DATASET_BUCKETS (required), SPE_AUDIT_RETENTION_DAYS, SPE_KEY_GRACE_DAYS.
 */
import type { SSTConfig } from "sst";
import { SST_NODEJS } from "./functions/lib/bundling";
import { Api } from "./stacks/api";
import { Audit } from "./stacks/audit";
import { Auth } from "./stacks/auth";
import { Keys } from "./stacks/keys";
import { dropUnusedSstHandlers } from "./stacks/lib/sst-handler";
import { Lifecycle } from "./stacks/lifecycle";
import { Network } from "./stacks/network";
import { State } from "./stacks/state";
import { Storage } from "./stacks/storage";
import { Workspaces } from "./stacks/workspaces";

export default {
  config() {
    return { name: "spe-controller", region: "eu-west-1" };
  },
  stacks(app) {
    app.setDefaultFunctionProps({
      // SST 2.49.8 accepts "nodejs22.x" (it maps it to lambda.Runtime.NODEJS_22_X; see `supportedRuntimes` in
      // sst/constructs/Function.js), so no `cdk.function` override is needed.
      runtime: "nodejs22.x",
      architecture: "arm_64",
      // No X-Ray: its write permission cannot be scoped to a resource, and traces would leave the platform key.
      tracing: "disabled",
      // ESM, minified, English-only zod, env-only credentials (functions/lib/bundling.ts). Its `sourcemap: true`
      // keeps the maps inside each bundle: SST uploads them (through its custom-resource Lambda, which
      // stacks/lib/sst-handler.ts removes) only when the option is left unset.
      // (Copied: SST's NodeJSProps wants a mutable plugin list, SST_NODEJS is `as const`.)
      nodejs: { ...SST_NODEJS, esbuild: { ...SST_NODEJS.esbuild, plugins: [...SST_NODEJS.esbuild.plugins] } },
    });
    app
      .stack(Keys)
      .stack(State)
      .stack(Storage)
      .stack(Network)
      .stack(Auth)
      .stack(Workspaces)
      .stack(Lifecycle)
      .stack(Audit)
      .stack(Api);
    dropUnusedSstHandlers(app);
  },
} satisfies SSTConfig;

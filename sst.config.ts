/**
 * SST v2 app of the SPE controller on AWS (`sst deploy`): the stacks in dependency order. The single-node
 * SPE (`npm start`) does not use this file.
 */
import type { SSTConfig } from "sst";
import { Api } from "./stacks/api";
import { Keys } from "./stacks/keys";
import { State } from "./stacks/state";

export default {
  config() {
    return { name: "spe-controller", region: "eu-west-1" };
  },
  stacks(app) {
    // SST 2.49.8 accepts "nodejs22.x" as a runtime string (it maps it to lambda.Runtime.NODEJS_22_X; see
    // `supportedRuntimes` in sst/constructs/Function.js), so no `cdk.function` override is needed.
    app.setDefaultFunctionProps({ runtime: "nodejs22.x", architecture: "arm_64" });
    app.stack(Keys).stack(State).stack(Api);
  },
} satisfies SSTConfig;

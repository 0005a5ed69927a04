/** @spe/local: the single-node adapters and composition root. */

export { DEMO_DATASET_ID, DEMO_PERMIT_ID, DEMO_USERS, demoRegistryCsv, seedDemo } from "./demo";
export { DirectoryRuntime, WORKSPACE_AREAS } from "./directory-runtime";
export { InProcessDispatcher } from "./dispatcher";
export { fileSources } from "./file-sources";
export { issueToken, LOCAL_AUDIENCE, LOCAL_ISSUER, parseTtl } from "./local-issuer";
export { LocalSigner, loadOrCreateKey, loadPublicKey, type NodeKey } from "./local-keys";
export { createNode, dataPaths, type NodeOptions, type SpeNode } from "./node";
export { type RunningServer, serve } from "./serve";
export { SqliteStore } from "./sqlite-store";
export { randomIds, systemClock } from "./system";
export { TimerScheduler } from "./timer-scheduler";

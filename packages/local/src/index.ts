/** @spe/local: the single-node adapters and composition root. */

export { randomIds, systemClock } from "@spe/core";
export { DEMO_DATASET_ID, DEMO_PERMIT_ID, DEMO_USERS, demoRegistryCsv, seedDemo } from "./demo";
export { InProcessDispatcher } from "./dispatcher";
export { FileObjectStore } from "./file-object-store";
export { fileSources } from "./file-sources";
export { issueToken, LOCAL_AUDIENCE, LOCAL_ISSUER, parseTtl } from "./local-issuer";
export { FileMasterKey, type KeyWrapper, LocalKeyService } from "./local-key-service";
export { LocalSigner, loadOrCreateKey, loadPublicKey, type NodeKey } from "./local-keys";
export { createNode, dataPaths, defaultRunDir, type NodeOptions, type SpeNode } from "./node";
export { SandboxRuntime } from "./sandbox-runtime";
export { type RunningServer, serve } from "./serve";
export { SqliteStore } from "./sqlite-store";
export { TimerScheduler } from "./timer-scheduler";

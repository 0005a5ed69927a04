/**
 * @spe/aws: the AWS adapters of every port and their composition root. The only package that imports
 * `@aws-sdk/*`. Entry points needing a narrower import (to keep a Lambda bundle small) import the module
 * directly, e.g. `@spe/aws/task-events`.
 */
export { AWS_SWEEP, type AwsClients, type AwsDeps, composeAws, defaultClients, deploymentOf } from "./compose";
export { type AwsConfig, AwsEnv, type ConsoleConfig, ConsoleEnv, readAwsConfig, readConsoleConfig } from "./config";
export { presignedDownloads } from "./download-offload";
export { CommitTooLargeError, StoreUnavailableError } from "./dynamo-retry";
export { DynamoStore } from "./dynamo-store";
export { EcsRuntime } from "./ecs-runtime";
export { KmsKeyService } from "./kms-key-service";
export { KmsSigner } from "./kms-signer";
export { LambdaDispatcher } from "./lambda-dispatcher";
export { S3ObjectStore } from "./s3-object-store";
export { s3Sources } from "./s3-sources";
export { EventBridgeScheduler } from "./scheduler";
export { TABLE_GSIS, TABLE_KEY, TTL_ATTRIBUTE } from "./table-schema";
export { DynamoWrappedKeyStore } from "./wrapped-key-store";

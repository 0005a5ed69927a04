/**
 * The errors each AWS service of the controller answers when it throttles and when it refuses outright,
 * as the SDK v3 clients raise them (modeled exception classes where the client has one, named service
 * exceptions otherwise), for fault injection: the SDK classifies by `name`, `$fault` and the HTTP status,
 * and so do the adapters (runtime-retry.ts, dynamo-retry.ts).
 */
import { DynamoDBServiceException, TransactionCanceledException } from "@aws-sdk/client-dynamodb";
import { ECSServiceException, AccessDeniedException as EcsAccessDenied } from "@aws-sdk/client-ecs";
import { IAMServiceException } from "@aws-sdk/client-iam";
import { KMSServiceException } from "@aws-sdk/client-kms";
import { lambdaAccessDenied, lambdaThrottling } from "./fake-lambda";
import { logsAccessDenied, logsThrottling } from "./fake-logs";
import { schedulerAccessDenied, schedulerThrottling } from "./fake-scheduler";
import { kmsThrottling, s3Error, slowDown } from "./faults";

export type Service = "dynamodb" | "s3" | "kms" | "ecs" | "iam" | "scheduler" | "lambda" | "logs";
/**
 * `throttle`: throttling that outlasted the SDK's retries; `hard`: a refusal (AccessDenied and kin);
 * `lost`: the request was applied but its response was lost (a 5xx after the effect, e.g. a timeout).
 */
export type FaultKind = "throttle" | "hard" | "lost";

/** ECS's throttling answer: not a modeled exception in the ECS client, a named service exception. */
export const ecsThrottling = () =>
  new ECSServiceException({
    name: "ThrottlingException",
    $fault: "client",
    $metadata: { httpStatusCode: 400 },
    message: "Rate exceeded",
  });

/** IAM's throttling answer (code `Throttling`). */
export const iamThrottling = () =>
  new IAMServiceException({
    name: "Throttling",
    $fault: "client",
    $metadata: { httpStatusCode: 400 },
    message: "Rate exceeded",
  });

const dynamoError = (name: string, status: number, message: string) =>
  new DynamoDBServiceException({ name, $fault: "client", $metadata: { httpStatusCode: status }, message });

/**
 * DynamoDB throttling: a throttled read or single write is ThrottlingException; a throttled transaction
 * is cancelled with ThrottlingError reasons (one per item, as DynamoDB reports them).
 */
export function dynamoThrottling(command: string, input: unknown): Error {
  if (command !== "TransactWriteItems") {
    return dynamoError("ThrottlingException", 400, "Throughput exceeds the current capacity of your table");
  }
  const items = (input as { TransactItems?: unknown[] }).TransactItems ?? [];
  return new TransactionCanceledException({
    message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${items.map(() => "ThrottlingError").join(", ")}]`,
    $metadata: { httpStatusCode: 400 },
    CancellationReasons: items.map(() => ({
      Code: "ThrottlingError",
      Message: "Throughput exceeds the current capacity",
    })),
  });
}

/** A service's 5xx: what a lost response looks like to the caller (the effect may or may not have happened). */
function serverError(service: Service): Error {
  const e = (name: string) => ({ name, $fault: "server" as const, $metadata: { httpStatusCode: 500 }, message: "" });
  switch (service) {
    case "dynamodb":
      return new DynamoDBServiceException(e("InternalServerError"));
    case "s3":
      return s3Error("InternalError", 500, "We encountered an internal error. Please try again.");
    case "kms":
      return new KMSServiceException(e("KMSInternalException"));
    case "ecs":
      return new ECSServiceException(e("ServerException"));
    case "iam":
      return new IAMServiceException(e("ServiceFailure"));
    default:
      return new Error(`no server error for ${service}`);
  }
}

/** The error `service` answers to `command` for a fault of `kind`. */
export function serviceError(service: Service, kind: FaultKind, command: string, input: unknown): Error {
  if (kind === "lost") return serverError(service);
  if (kind === "throttle") {
    switch (service) {
      case "dynamodb":
        return dynamoThrottling(command, input);
      case "s3":
        return slowDown();
      case "kms":
        return kmsThrottling();
      case "ecs":
        return ecsThrottling();
      case "iam":
        return iamThrottling();
      case "scheduler":
        return schedulerThrottling();
      case "lambda":
        return lambdaThrottling();
      case "logs":
        return logsThrottling();
    }
  }
  switch (service) {
    case "dynamodb":
      return dynamoError("AccessDeniedException", 400, `not authorized to perform: dynamodb:${command}`);
    case "s3":
      return s3Error("AccessDenied", 403, "Access Denied");
    case "kms":
      return new KMSServiceException({
        name: "AccessDeniedException",
        $fault: "client",
        $metadata: { httpStatusCode: 400 },
        message: `not authorized to perform: kms:${command}`,
      });
    case "ecs":
      return new EcsAccessDenied({ message: `not authorized to perform: ecs:${command}`, $metadata: {} });
    case "iam":
      return new IAMServiceException({
        name: "AccessDenied",
        $fault: "client",
        $metadata: { httpStatusCode: 403 },
        message: `not authorized to perform: iam:${command}`,
      });
    case "scheduler":
      return schedulerAccessDenied();
    case "lambda":
      return lambdaAccessDenied();
    case "logs":
      return logsAccessDenied();
  }
}

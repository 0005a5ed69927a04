/**
 * The functions of the app and what each may do (the brief's matrix, as the Sids of their role's statements),
 * and how to find a function in the synthesized templates. Shared by the stacks tests.
 */
import type { Template } from "aws-cdk-lib/assertions";
import { expect } from "vitest";
import { type Cfn, functionRoleId, type Resource, resources, roleStatements, type StackName } from "./synth";

export const FUNCTIONS = ["api", "provision", "expire", "sweep", "task-events", "archive-audit", "seal-audit"] as const;
export type FunctionKey = (typeof FUNCTIONS)[number];

/** The stack each function is defined in. */
const STACK_OF: Record<FunctionKey, StackName> = {
  api: "Api",
  provision: "Lifecycle",
  expire: "Lifecycle",
  sweep: "Lifecycle",
  "task-events": "Lifecycle",
  "archive-audit": "Audit",
  "seal-audit": "Audit",
};

/** A function's resource, its logical id, the statements of its role and its template. */
export function functionIn(
  templates: Record<StackName, Template>,
  key: FunctionKey,
): { id: string; resource: Resource; statements: Cfn[]; template: Template } {
  const template = templates[STACK_OF[key]];
  const found = resources(template, "AWS::Lambda::Function").filter(
    ([, f]) => f.Properties.Handler === `functions/${key}.handler`,
  );
  expect(found, key).toHaveLength(1);
  const [id, resource] = found[0]!;
  return { id, resource, statements: roleStatements(template, functionRoleId(resource)), template };
}

const STORE = ["StoreItems", "StoreKeyThroughDynamoDB"];
const PERMIT_DATA = ["PermitDataObjects", "PermitDataListing"];
/** Creating permit keys and the alias side of their aliases: all else on permit keys is in their key policy. */
const KEYS_MANAGE = ["PermitKeysCreate", "PermitKeyAliases"];
const RUNTIME_READ = ["RuntimeTasksRead", "RuntimeTasksList", "RuntimeAreasRead", "RuntimeAreasListing"];
const RUNTIME_OPERATE = [
  "RuntimeTasksRead",
  "RuntimeTasksList",
  "RuntimeRunTask",
  "RuntimeStopTask",
  "RuntimeTagNewTasks",
  "TaskRolesCleanup",
  "TaskRolesRead",
  "TaskRolesPass",
  "RuntimeAreasObjects",
  "RuntimeAreasListing",
];
const SCHEDULER = ["ExpirySchedules", "ExpirySchedulerRolePass"];
const SOURCES = ["SourcesListing", "SourcesRead"];

/** Which capabilities each function has: the brief's matrix, as statement Sids. */
export const CAPABILITIES: Record<FunctionKey, string[]> = {
  api: [
    ...STORE,
    ...PERMIT_DATA,
    ...KEYS_MANAGE,
    "AuditVerify",
    ...SCHEDULER,
    "DispatchProvision",
    ...RUNTIME_OPERATE,
    ...SOURCES,
    // The web console's session-cookie key, wrapped by the platform key (packages/aws/src/console-key.ts).
    "ConsoleSessionKey",
  ],
  provision: [
    ...STORE,
    ...PERMIT_DATA,
    ...KEYS_MANAGE,
    ...RUNTIME_OPERATE,
    "TaskRolesCreate",
    "TaskRolesTag",
    ...SOURCES,
  ],
  expire: [...STORE, ...PERMIT_DATA, ...KEYS_MANAGE, ...RUNTIME_OPERATE, ...SCHEDULER],
  sweep: [...STORE, ...PERMIT_DATA, ...KEYS_MANAGE, ...RUNTIME_OPERATE, ...SCHEDULER],
  // Uses permit keys through their key policy only (KeyUsersUse): nothing in IAM.
  "task-events": [...STORE, ...PERMIT_DATA, ...RUNTIME_READ, "TaskLogStreams"],
  "archive-audit": [
    "AuditArchivePut",
    "AuditArchiveKeyThroughS3",
    "StreamRead",
    "StreamList",
    "StreamKeyThroughDynamoDB",
    "DeadLettersSend",
    "DeadLettersKeyThroughSqs",
  ],
  "seal-audit": [...STORE, "AuditSign"],
};

/**
 * cdk-nag suppressions, always for one finding at a time with its reason. IAM5 (wildcards) is suppressed per
 * wildcard resource, written the way cdk-nag prints it (`<LogicalId.Arn>/*`, `arn:<AWS::Partition>:...`), next
 * to the grant that creates it; anything new that cdk-nag finds stays an error in test/stacks.
 */
import { type CfnElement, Stack } from "aws-cdk-lib";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import { NagSuppressions } from "cdk-nag";
import type { IConstruct } from "constructs";

/** `<LogicalId>` or `<LogicalId.Attr>` of a construct's CloudFormation resource, as cdk-nag prints it. */
export function nagRef(construct: IConstruct, attr?: string): string {
  const cfn = construct.node.defaultChild as CfnElement | undefined;
  if (!cfn) throw new Error(`${construct.node.path} has no CloudFormation resource to refer to`);
  const id = Stack.of(cfn).resolve(cfn.logicalId) as string;
  return attr ? `<${id}.${attr}>` : `<${id}>`;
}

/** `arn:<AWS::Partition>:<service>:<region>:<account>:<rest>`, as cdk-nag prints an ARN built in a stack. */
export function nagArn(stack: Stack, service: string, rest: string, opts: { region?: boolean } = {}): string {
  const region = opts.region === false ? "" : stack.region;
  return `arn:<AWS::Partition>:${service}:${region}:${stack.account}:${rest}`;
}

/**
 * Suppresses AwsSolutions-IAM5 on a function's role for exactly these wildcard resources.
 * @param resources the resources as cdk-nag prints them (see nagRef, nagArn).
 */
export function allowWildcards(fn: lambda.IFunction, reason: string, resources: readonly string[]): void {
  if (!fn.role) throw new Error(`${fn.node.path} has no role to suppress findings on`);
  NagSuppressions.addResourceSuppressions(
    fn.role,
    [{ id: "AwsSolutions-IAM5", reason, appliesTo: resources.map((r) => `Resource::${r}`) }],
    true,
  );
}

/** Suppresses one cdk-nag rule on one construct (and its children) with its reason. */
export function suppress(construct: IConstruct, id: string, reason: string, appliesTo?: readonly string[]): void {
  NagSuppressions.addResourceSuppressions(
    construct,
    [{ id, reason, ...(appliesTo ? { appliesTo: [...appliesTo] } : {}) }],
    true,
  );
}

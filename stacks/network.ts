/**
 * Network: where workspace tasks run. Two isolated subnets (two AZs) with no route anywhere: no NAT gateway, no
 * internet gateway, no public subnet. A task reaches exactly the AWS endpoints it needs, each with a policy
 * that admits only this deployment's resources, so even a job holding someone else's credentials cannot
 * send data to another account through them:
 * - S3 (gateway): this deployment's workspaces bucket, and ECR's layer bucket (image pulls download layers from it);
 * - ECR api + dkr (interface): pulling this account's images (the task execution role);
 * - CloudWatch Logs (interface): the awslogs driver writing to the workspace log group.
 * Nothing else: task credentials come from the Fargate agent (no STS endpoint), S3 calls KMS for SSE-KMS itself
 * (no KMS endpoint), and the task definition holds no secrets (no Secrets Manager endpoint).
 * DNS is the one channel security groups and flow logs do not see (the VPC resolver answers every name by
 * asking the internet's name servers): a Route 53 Resolver DNS Firewall answers only this region's AWS names
 * (and the VPC's own) and NXDOMAIN for everything else, so a job cannot leak data in the names it looks up.
 * The Lambda functions are not in this VPC: they call IAM (a global service with no VPC endpoint) and
 * EventBridge Scheduler, which have no usable endpoint here, so a function inside the VPC would need a NAT
 * gateway, which this VPC must never have. They stay outside it and reach AWS APIs over TLS with their own
 * least-privilege roles; nothing in the VPC can reach them.
 */
import { RemovalPolicy } from "aws-cdk-lib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as iam from "aws-cdk-lib/aws-iam";
import * as logs from "aws-cdk-lib/aws-logs";
import * as resolver from "aws-cdk-lib/aws-route53resolver";
import { type StackContext, use } from "sst/constructs";
import { Keys } from "./keys";
import { workspaceLogGroupName } from "./lib/names";
import { Storage } from "./storage";

export function Network({ stack }: StackContext) {
  const { platformKey } = use(Keys);
  const { buckets } = use(Storage);
  const isolated = { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };
  const thisAccount = { StringEquals: { "aws:PrincipalAccount": stack.account } };

  const vpc = new ec2.Vpc(stack, "Vpc", {
    ipAddresses: ec2.IpAddresses.cidr("10.0.0.0/16"),
    // Named rather than looked up: a lookup would need AWS credentials at synthesis.
    availabilityZones: [`${stack.region}a`, `${stack.region}b`],
    natGateways: 0,
    // Only isolated subnets, so CDK creates no internet gateway either.
    subnetConfiguration: [{ name: "workspace", subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 20 }],
    // Nothing is ever attached to the default security group (tasks and endpoints get their own); restricting
    // it would cost a custom-resource Lambda for no gain.
    restrictDefaultSecurityGroup: false,
  });

  const flowLogs = new logs.LogGroup(stack, "FlowLogs", {
    encryptionKey: platformKey,
    // Evidence of every connection attempt out of a workspace: a year.
    retention: logs.RetentionDays.ONE_YEAR,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  vpc.addFlowLog("FlowLog", {
    destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs),
    trafficType: ec2.FlowLogTrafficType.ALL,
  });

  // The endpoints accept HTTPS from workspace tasks and start nothing (no egress at all).
  const endpointSecurityGroup = new ec2.SecurityGroup(stack, "EndpointSecurityGroup", {
    vpc,
    description: "SPE interface endpoints: HTTPS from workspace tasks only",
    allowAllOutbound: false,
  });

  const s3Endpoint = vpc.addGatewayEndpoint("S3Endpoint", {
    service: ec2.GatewayVpcEndpointAwsService.S3,
    subnets: [isolated],
  });
  s3Endpoint.addToPolicy(
    new iam.PolicyStatement({
      sid: "WorkspaceArea",
      principals: [new iam.AnyPrincipal()],
      actions: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListBucket"],
      resources: [buckets.workspaces.bucketArn, buckets.workspaces.arnForObjects("*")],
      conditions: thisAccount,
    }),
  );
  s3Endpoint.addToPolicy(
    new iam.PolicyStatement({
      sid: "EcrImageLayers",
      principals: [new iam.AnyPrincipal()],
      actions: ["s3:GetObject"],
      resources: [`arn:${stack.partition}:s3:::prod-${stack.region}-starport-layer-bucket/*`],
    }),
  );
  // The gateway endpoint is reached through the S3 prefix list (a route, not an address in the VPC). Looked up
  // by name at deploy time; SST resolves the lookup and records it in cdk.context.json.
  const s3PrefixList = ec2.PrefixList.fromLookup(stack, "S3PrefixList", {
    prefixListName: `com.amazonaws.${stack.region}.s3`,
  });
  // Tasks talk HTTPS to the endpoints and to S3 through its gateway, nothing else. The rules are written on the
  // group itself (L1): a group created without inline egress gets EC2's allow-all rule, and CDK renders rules to
  // other groups as separate resources, so declaring them here is what guarantees these two are the only ones.
  const taskGroup = new ec2.CfnSecurityGroup(stack, "WorkspaceTaskSecurityGroup", {
    vpcId: vpc.vpcId,
    groupDescription: "SPE workspace tasks: HTTPS to the VPC endpoints only",
    securityGroupEgress: [
      {
        description: "HTTPS to the interface endpoints",
        ipProtocol: "tcp",
        fromPort: 443,
        toPort: 443,
        destinationSecurityGroupId: endpointSecurityGroup.securityGroupId,
      },
      {
        description: "HTTPS to S3 through the gateway endpoint",
        ipProtocol: "tcp",
        fromPort: 443,
        toPort: 443,
        destinationPrefixListId: s3PrefixList.prefixListId,
      },
    ],
  });
  const taskSecurityGroup = ec2.SecurityGroup.fromSecurityGroupId(stack, "WorkspaceTaskGroup", taskGroup.attrGroupId, {
    allowAllOutbound: false,
    mutable: false,
  });
  // A rule of its own (not inline on either group): the two groups refer to each other.
  new ec2.CfnSecurityGroupIngress(stack, "EndpointsFromWorkspaceTasks", {
    groupId: endpointSecurityGroup.securityGroupId,
    sourceSecurityGroupId: taskGroup.attrGroupId,
    ipProtocol: "tcp",
    fromPort: 443,
    toPort: 443,
    description: "HTTPS from workspace tasks",
  });

  const interfaceEndpoint = (id: string, service: ec2.InterfaceVpcEndpointAwsService) =>
    vpc.addInterfaceEndpoint(id, {
      service,
      subnets: isolated,
      securityGroups: [endpointSecurityGroup],
      // Only the rule above: not the whole VPC CIDR.
      open: false,
      privateDnsEnabled: true,
    });
  const ecrEndpoints = [
    interfaceEndpoint("EcrApiEndpoint", ec2.InterfaceVpcEndpointAwsService.ECR),
    interfaceEndpoint("EcrDockerEndpoint", ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER),
  ];
  for (const endpoint of ecrEndpoints) {
    endpoint.addToPolicy(
      new iam.PolicyStatement({
        sid: "PullThisAccountsImages",
        principals: [new iam.AnyPrincipal()],
        actions: ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
        resources: [`arn:${stack.partition}:ecr:${stack.region}:${stack.account}:repository/*`],
        conditions: thisAccount,
      }),
    );
    endpoint.addToPolicy(
      new iam.PolicyStatement({
        sid: "AuthorizationToken",
        principals: [new iam.AnyPrincipal()],
        actions: ["ecr:GetAuthorizationToken"],
        resources: ["*"],
        conditions: thisAccount,
      }),
    );
  }
  const logsEndpoint = interfaceEndpoint("LogsEndpoint", ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS);
  logsEndpoint.addToPolicy(
    new iam.PolicyStatement({
      sid: "WorkspaceTaskLogs",
      principals: [new iam.AnyPrincipal()],
      actions: ["logs:CreateLogStream", "logs:PutLogEvents"],
      resources: [
        `arn:${stack.partition}:logs:${stack.region}:${stack.account}:log-group:${workspaceLogGroupName(stack)}:*`,
      ],
      conditions: thisAccount,
    }),
  );

  dnsFirewall(stack, vpc.vpcId);

  return {
    vpc,
    workspaceSubnets: vpc.isolatedSubnets,
    taskSecurityGroup,
    endpointSecurityGroup,
    s3Endpoint,
  } as const;
}

/** The names a workspace task may resolve: this region's AWS endpoints (S3, ECR, Logs) and the VPC's own names. */
export const ALLOWED_DNS = (region: string) => [`*.${region}.amazonaws.com`, `${region}.amazonaws.com`, "*.internal"];

/**
 * Route 53 Resolver DNS Firewall on the workspace VPC: allow the AWS names the tasks need, answer NXDOMAIN for
 * every other name (evaluated in priority order: the allow list first). Without it a job could exfiltrate
 * through the names it looks up (`<data>.attacker.example`), past egress review and out of every log.
 */
function dnsFirewall(stack: StackContext["stack"], vpcId: string): void {
  const allowed = new resolver.CfnFirewallDomainList(stack, "DnsAllowed", {
    name: `spe-${stack.stage}-allowed`,
    domains: ALLOWED_DNS(stack.region),
  });
  const everything = new resolver.CfnFirewallDomainList(stack, "DnsEverything", {
    name: `spe-${stack.stage}-everything`,
    domains: ["*"],
  });
  const rules = new resolver.CfnFirewallRuleGroup(stack, "DnsFirewallRules", {
    name: `spe-${stack.stage}-workspace-dns`,
    firewallRules: [
      { firewallDomainListId: allowed.attrId, priority: 100, action: "ALLOW" },
      { firewallDomainListId: everything.attrId, priority: 200, action: "BLOCK", blockResponse: "NXDOMAIN" },
    ],
  });
  new resolver.CfnFirewallRuleGroupAssociation(stack, "DnsFirewall", {
    name: `spe-${stack.stage}-workspace-dns`,
    firewallRuleGroupId: rules.attrId,
    vpcId,
    priority: 101,
    // A change to the association cannot be made by mistake from the console either.
    mutationProtection: "ENABLED",
  });
}

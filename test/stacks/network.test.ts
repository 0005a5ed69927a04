/**
 * Template assertions on the Network stack: workspace tasks have no way out but the VPC endpoints, and the
 * endpoints admit only this deployment's resources. Every check here would catch a route, a gateway, a rule or
 * a policy statement someone adds later.
 */
import type { Template } from "aws-cdk-lib/assertions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Cfn, only, type Resource, render, resources, type Synthesized, synthesize } from "./synth";

let synth: Synthesized;
let net: Template;

beforeAll(async () => {
  synth = await synthesize();
  net = synth.templates.Network;
}, 120_000);
afterAll(() => synth?.cleanup());

const endpoint = (service: string): Resource => {
  const found = resources(net, "AWS::EC2::VPCEndpoint").filter(([, e]) =>
    render(e.Properties.ServiceName).endsWith(service),
  );
  expect(found, service).toHaveLength(1);
  return found[0]![1];
};
const statements = (e: Resource): Cfn[] => e.Properties.PolicyDocument.Statement;

describe("Network stack: isolation", () => {
  it("has no NAT gateway, no internet gateway, no egress-only gateway, no VPN, no peering, no public IP", () => {
    for (const type of [
      "AWS::EC2::NatGateway",
      "AWS::EC2::InternetGateway",
      "AWS::EC2::VPCGatewayAttachment",
      "AWS::EC2::EgressOnlyInternetGateway",
      "AWS::EC2::VPNGateway",
      "AWS::EC2::TransitGatewayAttachment",
      "AWS::EC2::VPCPeeringConnection",
      "AWS::EC2::EIP",
    ]) {
      expect(Object.keys(net.findResources(type)), type).toHaveLength(0);
    }
  });

  it("has exactly two isolated subnets in two AZs, none mapping public IPs", () => {
    const subnets = resources(net, "AWS::EC2::Subnet");
    expect(subnets).toHaveLength(2);
    for (const [id, s] of subnets) {
      expect(s.Properties.MapPublicIpOnLaunch, id).toBe(false);
      expect(s.Properties.Tags, id).toContainEqual({ Key: "aws-cdk:subnet-type", Value: "Isolated" });
    }
    expect(new Set(subnets.map(([, s]) => s.Properties.AvailabilityZone))).toEqual(
      new Set(["eu-west-1a", "eu-west-1b"]),
    );
  });

  it("routes nothing anywhere: no route resource at all (the S3 gateway is attached to the route tables)", () => {
    expect(Object.keys(net.findResources("AWS::EC2::Route"))).toHaveLength(0);
    const tables = resources(net, "AWS::EC2::RouteTable").map(([id]) => id);
    expect(tables).toHaveLength(2);
    expect(
      endpoint(".s3")
        .Properties.RouteTableIds.map((r: Cfn) => r.Ref)
        .sort(),
    ).toEqual(tables.sort());
  });

  it("records every flow of the VPC to a log group encrypted with the platform key, kept a year", () => {
    const [, flow] = only(net, "AWS::EC2::FlowLog");
    const [logsId, logs] = only(net, "AWS::Logs::LogGroup");
    expect(flow.Properties).toMatchObject({
      ResourceType: "VPC",
      TrafficType: "ALL",
      LogDestinationType: "cloud-watch-logs",
      LogGroupName: { Ref: logsId },
    });
    expect(render(logs.Properties.KmsKeyId)).toMatch(/^<import:test-spe-controller-Keys:.*PlatformKey.*>$/);
    expect(logs.Properties.RetentionInDays).toBe(365);
  });
});

describe("Network stack: endpoints", () => {
  it("has exactly the endpoints workspace tasks need: S3 (gateway), ECR api + dkr, CloudWatch Logs", () => {
    const services = resources(net, "AWS::EC2::VPCEndpoint").map(([, e]) => [
      render(e.Properties.ServiceName),
      e.Properties.VpcEndpointType ?? "Gateway",
    ]);
    expect(services.sort()).toEqual(
      [
        ["com.amazonaws.eu-west-1.ecr.api", "Interface"],
        ["com.amazonaws.eu-west-1.ecr.dkr", "Interface"],
        ["com.amazonaws.eu-west-1.logs", "Interface"],
        ["com.amazonaws.eu-west-1.s3", "Gateway"],
      ].sort(),
    );
    for (const service of ["ecr.api", "ecr.dkr", "logs"]) {
      expect(endpoint(service).Properties.PrivateDnsEnabled, service).toBe(true);
    }
  });

  it("lets the S3 endpoint reach only this deployment's workspaces bucket and ECR's layer bucket", () => {
    const s3 = statements(endpoint(".s3"));
    expect(s3.every((s) => s.Effect === "Allow")).toBe(true);
    const resourcesOf = s3.flatMap((s) => [s.Resource].flat().map(render));
    expect(resourcesOf.sort()).toEqual(
      [
        expect.stringMatching(
          /^<import:test-spe-controller-Storage:ExportsOutputFnGetAttWorkspaces[0-9A-F]{8}Arn[0-9A-F]+>$/,
        ),
        expect.stringMatching(
          /^<import:test-spe-controller-Storage:ExportsOutputFnGetAttWorkspaces[0-9A-F]{8}Arn[0-9A-F]+>\/\*$/,
        ),
        "arn:aws:s3:::prod-eu-west-1-starport-layer-bucket/*",
      ].sort(),
    );
    const layers = s3.find((s) => s.Sid === "EcrImageLayers");
    expect(layers.Action).toBe("s3:GetObject");
    const area = s3.find((s) => s.Sid === "WorkspaceArea");
    expect(area.Condition).toEqual({ StringEquals: { "aws:PrincipalAccount": "123456789012" } });
    expect(area.Action).not.toContain("s3:*");
  });

  it("lets the ECR endpoints pull this account's images only, and the Logs endpoint write the task log group only", () => {
    for (const service of ["ecr.api", "ecr.dkr"]) {
      const ecr = statements(endpoint(service));
      for (const s of ecr) {
        expect(s.Effect, service).toBe("Allow");
        expect(s.Condition, service).toEqual({ StringEquals: { "aws:PrincipalAccount": "123456789012" } });
      }
      const pull = ecr.find((s) => s.Sid === "PullThisAccountsImages");
      expect(render(pull.Resource)).toBe("arn:aws:ecr:eu-west-1:123456789012:repository/*");
      expect(pull.Action.sort()).toEqual(
        ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"].sort(),
      );
      // No push: nothing can be uploaded to a registry through the endpoint.
      expect(JSON.stringify(ecr)).not.toMatch(/PutImage|UploadLayerPart|InitiateLayerUpload|ecr:\*/);
    }
    const logs = statements(endpoint("logs"));
    expect(logs).toHaveLength(1);
    expect(logs[0].Action).toEqual(["logs:CreateLogStream", "logs:PutLogEvents"]);
    expect(render(logs[0].Resource)).toBe("arn:aws:logs:eu-west-1:123456789012:log-group:/spe/test/workspace-tasks:*");
  });
});

describe("Network stack: security groups", () => {
  const group = (description: RegExp): [string, Resource] => {
    const found = resources(net, "AWS::EC2::SecurityGroup").filter(([, g]) =>
      description.test(g.Properties.GroupDescription),
    );
    expect(found, String(description)).toHaveLength(1);
    return found[0]!;
  };

  it("lets workspace tasks out only on HTTPS, only to the interface endpoints and the S3 prefix list", () => {
    const [, tasks] = group(/^SPE workspace tasks/);
    const [endpointsId] = group(/^SPE interface endpoints/);
    expect(tasks.Properties.SecurityGroupEgress).toEqual([
      {
        Description: "HTTPS to the interface endpoints",
        IpProtocol: "tcp",
        FromPort: 443,
        ToPort: 443,
        DestinationSecurityGroupId: { "Fn::GetAtt": [endpointsId, "GroupId"] },
      },
      {
        Description: "HTTPS to S3 through the gateway endpoint",
        IpProtocol: "tcp",
        FromPort: 443,
        ToPort: 443,
        // The S3 managed prefix list, looked up at deploy time (CDK's placeholder offline).
        DestinationPrefixListId: "pl-xxxxxxxx",
      },
    ]);
    expect(tasks.Properties.SecurityGroupIngress).toBeUndefined();
    // No rule is attached from outside either: every egress rule is the one above.
    expect(Object.keys(net.findResources("AWS::EC2::SecurityGroupEgress"))).toHaveLength(0);
  });

  it("lets the endpoints accept HTTPS from workspace tasks only, and start no connection themselves", () => {
    const [tasksId] = group(/^SPE workspace tasks/);
    const [endpointsId, endpoints] = group(/^SPE interface endpoints/);
    expect(endpoints.Properties.SecurityGroupEgress).toEqual([
      {
        CidrIp: "255.255.255.255/32",
        Description: "Disallow all traffic",
        FromPort: 252,
        IpProtocol: "icmp",
        ToPort: 86,
      },
    ]);
    expect(endpoints.Properties.SecurityGroupIngress).toBeUndefined();
    const ingress = resources(net, "AWS::EC2::SecurityGroupIngress").map(([, r]) => r.Properties);
    expect(ingress).toEqual([
      {
        Description: "HTTPS from workspace tasks",
        GroupId: { "Fn::GetAtt": [endpointsId, "GroupId"] },
        SourceSecurityGroupId: { "Fn::GetAtt": [tasksId, "GroupId"] },
        IpProtocol: "tcp",
        FromPort: 443,
        ToPort: 443,
      },
    ]);
    for (const service of ["ecr.api", "ecr.dkr", "logs"]) {
      expect(endpoint(service).Properties.SecurityGroupIds, service).toEqual([
        { "Fn::GetAtt": [endpointsId, "GroupId"] },
      ]);
    }
  });
});

describe("Network stack: DNS", () => {
  it("answers only this region's AWS names and the VPC's own: NXDOMAIN for every other name (no DNS exfiltration)", () => {
    const lists = Object.fromEntries(
      resources(net, "AWS::Route53Resolver::FirewallDomainList").map(([id, l]) => [id, l.Properties.Domains]),
    );
    const [, group] = only(net, "AWS::Route53Resolver::FirewallRuleGroup");
    const rules = [...group.Properties.FirewallRules].sort((a: Cfn, b: Cfn) => a.Priority - b.Priority);
    const domainsOf = (rule: Cfn) => lists[rule.FirewallDomainListId["Fn::GetAtt"][0]];
    expect(rules.map((r: Cfn) => [r.Action, r.BlockResponse ?? null, domainsOf(r)])).toEqual([
      ["ALLOW", null, ["*.eu-west-1.amazonaws.com", "eu-west-1.amazonaws.com", "*.internal"]],
      ["BLOCK", "NXDOMAIN", ["*"]],
    ]);
    const [, association] = only(net, "AWS::Route53Resolver::FirewallRuleGroupAssociation");
    const [vpcId] = only(net, "AWS::EC2::VPC");
    expect(association.Properties).toMatchObject({ VpcId: { Ref: vpcId }, MutationProtection: "ENABLED" });
  });
});

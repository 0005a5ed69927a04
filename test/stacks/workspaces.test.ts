/**
 * Template assertions on the Workspaces stack (cluster, task definition, roles, the task-role boundary) and on
 * the workspace image's staged build context: offline, the image is not built, but its context is staged
 * exactly as `sst deploy` would send it to Docker, and it must hold only what the build needs.
 */
import { readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import type { Template } from "aws-cdk-lib/assertions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Cfn,
  filesUnder,
  only,
  type Resource,
  render,
  resources,
  roleStatements,
  type Synthesized,
  synthesize,
} from "./synth";

let synth: Synthesized;
let ws: Template;

beforeAll(async () => {
  synth = await synthesize();
  ws = synth.templates.Workspaces;
}, 120_000);
afterAll(() => synth?.cleanup());

const role = (description: RegExp): [string, Resource] => {
  const found = resources(ws, "AWS::IAM::Role").filter(([, r]) => description.test(r.Properties.Description));
  expect(found, String(description)).toHaveLength(1);
  return found[0]!;
};

describe("Workspaces stack: cluster and task definition", () => {
  it("runs a Fargate cluster with container insights", () => {
    const [, cluster] = only(ws, "AWS::ECS::Cluster");
    expect(cluster.Properties.ClusterSettings).toEqual([{ Name: "containerInsights", Value: "enabled" }]);
    expect(Object.keys(ws.findResources("AWS::AutoScaling::AutoScalingGroup"))).toHaveLength(0);
    expect(Object.keys(ws.findResources("AWS::ECS::Service"))).toHaveLength(0);
  });

  it("defines the `workspace` task: Fargate, awsvpc (an ENI per task, no public IP unless asked), x86_64", () => {
    const [, task] = only(ws, "AWS::ECS::TaskDefinition");
    expect(task.Properties).toMatchObject({
      Family: "spe-test-workspace",
      NetworkMode: "awsvpc",
      RequiresCompatibilities: ["FARGATE"],
      RuntimePlatform: { CpuArchitecture: "X86_64", OperatingSystemFamily: "LINUX" },
    });
    const [container, ...others] = task.Properties.ContainerDefinitions as Cfn[];
    expect(others).toHaveLength(0);
    expect(container).toMatchObject({ Name: "workspace", Essential: true, ReadonlyRootFilesystem: true });
    // Nothing secret or environment-specific baked in: the runtime passes what a job needs per RunTask.
    expect(container).not.toHaveProperty("Environment");
    expect(container).not.toHaveProperty("Secrets");
    expect(container).not.toHaveProperty("PortMappings");
    expect(container.Privileged).toBeUndefined();
    expect(container.LinuxParameters.Capabilities.Drop).toEqual(
      expect.arrayContaining(["NET_RAW", "MKNOD", "SYS_CHROOT"]),
    );
    expect(container.LinuxParameters.Capabilities.Add).toBeUndefined();
  });

  it("gives the read-only container exactly two writable scratch volumes: /workspace and /tmp", () => {
    const [, task] = only(ws, "AWS::ECS::TaskDefinition");
    const [container] = task.Properties.ContainerDefinitions as Cfn[];
    expect(task.Properties.Volumes).toEqual([{ Name: "workspace" }, { Name: "tmp" }]);
    expect(container.MountPoints).toEqual([
      { ContainerPath: "/workspace", SourceVolume: "workspace", ReadOnly: false },
      { ContainerPath: "/tmp", SourceVolume: "tmp", ReadOnly: false },
    ]);
  });

  it("logs through awslogs to the task log group: encrypted with the platform key, kept three days", () => {
    const [logsId, logs] = only(ws, "AWS::Logs::LogGroup");
    expect(logs.Properties).toMatchObject({ LogGroupName: "/spe/test/workspace-tasks", RetentionInDays: 3 });
    expect(render(logs.Properties.KmsKeyId)).toMatch(/^<import:test-spe-controller-Keys:.*PlatformKey.*>$/);
    const [, task] = only(ws, "AWS::ECS::TaskDefinition");
    expect(task.Properties.ContainerDefinitions[0].LogConfiguration).toEqual({
      LogDriver: "awslogs",
      Options: { "awslogs-group": { Ref: logsId }, "awslogs-stream-prefix": "job", "awslogs-region": "eu-west-1" },
    });
  });
});

describe("Workspaces stack: roles", () => {
  const trust = {
    Statement: [
      {
        Action: "sts:AssumeRole",
        Effect: "Allow",
        Principal: { Service: "ecs-tasks.amazonaws.com" },
        Condition: {
          StringEquals: { "aws:SourceAccount": "123456789012" },
          ArnLike: { "aws:SourceArn": expect.anything() },
        },
      },
    ],
    Version: "2012-10-17",
  };

  it("lets the execution role pull the image and write the task logs, nothing else", () => {
    const [id, exec] = role(/pull the workspace image/);
    expect(exec.Properties.AssumeRolePolicyDocument).toEqual(trust);
    expect(exec.Properties.ManagedPolicyArns).toBeUndefined();
    const actions = roleStatements(ws, id).flatMap((s) => [s.Action].flat());
    expect(actions.sort()).toEqual(
      [
        "ecr:BatchCheckLayerAvailability",
        "ecr:GetDownloadUrlForLayer",
        "ecr:BatchGetImage",
        "ecr:GetAuthorizationToken",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
      ].sort(),
    );
    const [, task] = only(ws, "AWS::ECS::TaskDefinition");
    expect(task.Properties.ExecutionRoleArn).toEqual({ "Fn::GetAtt": [id, "Arn"] });
  });

  it("gives the default task role no permission at all, and caps it with the boundary anyway", () => {
    const [id, taskRole] = role(/placeholder with no permissions/);
    const [boundaryId] = only(ws, "AWS::IAM::ManagedPolicy");
    expect(taskRole.Properties.AssumeRolePolicyDocument).toEqual(trust);
    expect(taskRole.Properties.PermissionsBoundary).toEqual({ Ref: boundaryId });
    expect(taskRole.Properties.ManagedPolicyArns).toBeUndefined();
    expect(taskRole.Properties.Policies).toBeUndefined();
    expect(roleStatements(ws, id)).toEqual([]);
    const [, task] = only(ws, "AWS::ECS::TaskDefinition");
    expect(task.Properties.TaskRoleArn).toEqual({ "Fn::GetAtt": [id, "Arn"] });
  });
});

describe("Workspaces stack: the task-role permissions boundary", () => {
  const boundary = () => only(ws, "AWS::IAM::ManagedPolicy")[1];
  const statement = (sid: string): Cfn => {
    const s = (boundary().Properties.PolicyDocument.Statement as Cfn[]).find((x) => x.Sid === sid);
    expect(s, sid).toBeDefined();
    return s;
  };
  const workspacesArn = /^<import:test-spe-controller-Storage:ExportsOutputFnGetAttWorkspaces[0-9A-F]{8}Arn[0-9A-F]+>$/;

  it("is named per stage, so the runtime's CreateRole condition can name it", () => {
    expect(boundary().Properties.ManagedPolicyName).toBe("spe-test-task-boundary");
  });

  it("allows at most: objects under permits/ of the workspaces bucket, listing it, and permit keys through S3", () => {
    const allows = (boundary().Properties.PolicyDocument.Statement as Cfn[]).filter((s) => s.Effect === "Allow");
    expect(allows.map((s) => s.Sid).sort()).toEqual(["PermitKeysThroughS3", "WorkspaceListing", "WorkspaceObjects"]);
    const objects = statement("WorkspaceObjects");
    expect(objects.Action.sort()).toEqual(
      ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:PutObject"].sort(),
    );
    const objectsArn = render(objects.Resource);
    expect(objectsArn.endsWith("/permits/*")).toBe(true);
    expect(objectsArn.slice(0, -"/permits/*".length)).toMatch(workspacesArn);
    expect(render(statement("WorkspaceListing").Resource)).toMatch(workspacesArn);
    const keys = statement("PermitKeysThroughS3");
    expect(keys.Action).toEqual(["kms:Decrypt", "kms:GenerateDataKey"]);
    expect(keys.Condition).toEqual({
      StringEquals: { "kms:ViaService": "s3.eu-west-1.amazonaws.com", "aws:ResourceTag/spe:stage": "test" },
    });
  });

  it("denies everything else explicitly: other actions, other buckets, KMS outside S3, IAM and STS", () => {
    const others = statement("DenyEverythingElse");
    expect(others).toMatchObject({ Effect: "Deny", Resource: "*" });
    expect(others.NotAction.sort()).toEqual(
      [
        "s3:GetObject",
        "s3:PutObject",
        "s3:DeleteObject",
        "s3:AbortMultipartUpload",
        "s3:ListBucket",
        "kms:Decrypt",
        "kms:GenerateDataKey",
      ].sort(),
    );
    const buckets = statement("DenyOtherBuckets");
    expect(buckets).toMatchObject({ Effect: "Deny", Action: "s3:*" });
    expect(buckets.NotResource.map(render)).toHaveLength(2);
    expect(statement("DenyKeysOutsideS3")).toMatchObject({
      Effect: "Deny",
      Action: "kms:*",
      Resource: "*",
      Condition: { StringNotEquals: { "kms:ViaService": "s3.eu-west-1.amazonaws.com" } },
    });
    // Leaked task credentials do not work with S3 from anywhere but this VPC's S3 endpoint.
    const outside = statement("DenyS3OutsideTheVpc");
    expect(outside).toMatchObject({ Effect: "Deny", Action: "s3:*", Resource: "*" });
    expect(render(outside.Condition.StringNotEquals["aws:SourceVpce"])).toMatch(/^<import:.*Network.*S3Endpoint.*>$/);
    expect(statement("DenyIdentityAndCredentials")).toMatchObject({ Effect: "Deny", Resource: "*" });
    expect(statement("DenyIdentityAndCredentials").Action).toEqual(expect.arrayContaining(["iam:*", "sts:*"]));
    // No wildcard allow sneaks in.
    for (const s of boundary().Properties.PolicyDocument.Statement as Cfn[]) {
      if (s.Effect === "Allow")
        expect(
          [s.Action].flat().some((a: string) => a.endsWith("*")),
          s.Sid,
        ).toBe(false);
    }
  });
});

describe("Workspace image asset", () => {
  const asset = () => {
    const manifest = JSON.parse(
      readFileSync(join(synth.assemblyDir, "test-spe-controller-Workspaces.assets.json"), "utf8"),
    ) as { dockerImages: Record<string, { source: { directory: string; dockerFile: string; platform: string } }> };
    const images = Object.values(manifest.dockerImages);
    expect(images).toHaveLength(1);
    return images[0]!.source;
  };

  it("builds workspace-image/Dockerfile for linux/amd64 with the repository root as its context", () => {
    expect(asset()).toMatchObject({ dockerFile: "workspace-image/Dockerfile", platform: "linux/amd64" });
  });

  it("stages a small context holding only the Dockerfile's directory and the agent's source (no tests)", () => {
    const dir = join(synth.assemblyDir, asset().directory);
    const files = filesUnder(dir).map((f) => relative(dir, f));
    expect(files).toContain("workspace-image/Dockerfile");
    expect(files.filter((f) => f.startsWith("packages/aws/src/agent/") && f.endsWith(".ts")).length).toBeGreaterThan(0);
    for (const f of files) {
      expect(f, f).toMatch(/^(workspace-image\/|packages\/aws\/src\/agent\/)/);
      expect(f, f).not.toMatch(/node_modules|\.git\/|\.sst\/|\.spe\/|\.test\.ts$|\.pem$|\.key$|(^|\/)\.env/);
    }
    const bytes = files.reduce((n, f) => n + statSync(join(dir, f)).size, 0);
    expect(bytes).toBeLessThan(1024 * 1024);
  });
});

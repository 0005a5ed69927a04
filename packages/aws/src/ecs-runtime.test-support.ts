/**
 * Test support for the ECS workspace runtime: a runtime over the in-memory ECS, IAM and S3 of testing/
 * (fake-ecs.ts, fake-iam.ts, fake-s3.ts), with the KMS grants it asks for recorded, retries that do not
 * sleep, and staged files generated on demand. Not a test file itself: the runtime tests import it.
 */
import { EcsRuntime, type EcsRuntimeOptions, type WorkspaceKeyGrants } from "./ecs-runtime";
import { FakeEcs } from "./testing/fake-ecs";
import { FakeIam } from "./testing/fake-iam";
import { FakeS3 } from "./testing/fake-s3";

export const ACCOUNT = "123456789012";
export const REGION = "eu-central-1";
export const CLUSTER = `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/spe-test`;
export const BUCKET = "spe-test-workspaces";
export const BOUNDARY = `arn:aws:iam::${ACCOUNT}:policy/spe-test-workspace-boundary`;

export { FakeEcs, type FakeTask } from "./testing/fake-ecs";
export { FakeIam } from "./testing/fake-iam";
export { ecsThrottling, iamThrottling } from "./testing/service-errors";

/** The KMS grants the runtime asks for, recorded; `failGrant` makes the next grant fail. */
export class FakeGrants implements WorkspaceKeyGrants {
  readonly grants = new Map<string, string>();
  readonly retired: string[] = [];
  failGrant: Error | null = null;

  permitKeyAliasArn(permitId: string): string {
    return `arn:aws:kms:${REGION}:${ACCOUNT}:alias/spe-test-permit-${permitId}`;
  }

  async grantWorkspace(permitId: string, workspaceId: string, roleArn: string): Promise<void> {
    if (this.failGrant) {
      const e = this.failGrant;
      this.failGrant = null;
      throw e;
    }
    this.grants.set(`${permitId}/${workspaceId}`, roleArn);
  }

  async retireWorkspaceGrants(permitId: string, workspaceId: string): Promise<void> {
    this.grants.delete(`${permitId}/${workspaceId}`);
    this.retired.push(`${permitId}/${workspaceId}`);
  }
}

/** A runtime over fresh fakes, with retries that do not sleep. */
export function testRuntime(over: Partial<EcsRuntimeOptions> = {}) {
  const ecs = new FakeEcs();
  const s3 = new FakeS3([BUCKET]).view(BUCKET);
  const iam = new FakeIam();
  const keys = new FakeGrants();
  const workspaces = new Map<string, string>();
  const sleeps: number[] = [];
  const sleep = async (ms: number) => {
    sleeps.push(ms);
  };
  const runtime = new EcsRuntime({
    ecs: ecs.client,
    s3: s3.client,
    iam: iam.client,
    keys,
    bucket: BUCKET,
    cluster: CLUSTER,
    taskDefinition: `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/spe-test-workspace:3`,
    containerName: "workspace",
    subnets: ["subnet-0aa1", "subnet-0bb2"],
    securityGroup: "sg-0c0ffee",
    roleBoundaryArn: BOUNDARY,
    rolePath: "/spe/test/",
    stage: "test",
    outputsQuotaBytes: 1024 ** 3,
    resolveWorkspace: async (id) => {
      const permitId = workspaces.get(id);
      return permitId ? { permitId } : null;
    },
    now: () => new Date("2026-03-01T10:00:00Z"),
    retry: { sleep },
    stopWait: { sleep, pollMs: 1000, timeoutMs: 10_000 },
    ...over,
  });
  return { runtime, ecs, s3, iam, keys, workspaces, sleeps };
}

/** A staged file whose stream is generated on demand, counting how many chunks were read. */
export function staged(path: string, content: string | { bytes: number; chunk?: number }) {
  /** Chunks read by each open(), in order (core may open a staged file more than once). */
  const reads = { chunks: 0, opens: 0, perOpen: [] as number[] };
  return {
    reads,
    file: {
      path,
      open: async function* () {
        const open = reads.opens++;
        reads.perOpen[open] = 0;
        if (typeof content === "string") {
          reads.chunks++;
          reads.perOpen[open]++;
          yield Buffer.from(content);
          return;
        }
        const size = content.chunk ?? 1024 * 1024;
        for (let at = 0; at < content.bytes; at += size) {
          reads.chunks++;
          reads.perOpen[open]++;
          const n = Math.min(size, content.bytes - at);
          yield Buffer.alloc(n, (at / size) % 251);
        }
      },
    },
  };
}

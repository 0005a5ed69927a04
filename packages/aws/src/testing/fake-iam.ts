/**
 * An in-memory IAM behind aws-sdk-client-mock, for the per-permit task roles of the workspace runtime:
 * CreateRole (names unique regardless of case: EntityAlreadyExists), GetRole with its permissions boundary,
 * PutRolePolicy / DeleteRolePolicy (inline policies), DeleteRole (refused with DeleteConflict while a policy is
 * attached, as IAM does), NoSuchEntity for a role that is not there, faults (faults.ts) at any call.
 */
import {
  CreateRoleCommand,
  DeleteConflictException,
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  EntityAlreadyExistsException,
  GetRoleCommand,
  IAMClient,
  NoSuchEntityException,
  PutRolePolicyCommand,
} from "@aws-sdk/client-iam";
import { mockClient } from "aws-sdk-client-mock";
import { Faults } from "./faults";

const DEFAULT_ACCOUNT = "123456789012";
const credentials = { accessKeyId: "AKIAFAKEFAKEFAKE", secretAccessKey: "fake" };

export interface FakeRole {
  arn: string;
  path: string;
  boundary?: string;
  trust: string;
  policies: Map<string, string>;
  tags?: { Key: string; Value: string }[];
}

export class FakeIam {
  readonly client = new IAMClient({ region: "us-east-1", credentials });
  readonly mock = mockClient(this.client);
  readonly faults = new Faults();
  readonly roles = new Map<string, FakeRole>();

  /** @param account the account of the role ARNs. */
  constructor(private readonly account = DEFAULT_ACCOUNT) {
    const m = this.mock;
    const on =
      <I>(name: string, fn: (i: I) => unknown) =>
      (i: I) =>
        this.faults.run(name, i, () => fn(i));
    m.on(CreateRoleCommand).callsFake(
      on("CreateRole", (i: CreateRoleCommand["input"]) => {
        const name = i.RoleName!;
        if ([...this.roles.keys()].some((k) => k.toLowerCase() === name.toLowerCase())) {
          throw new EntityAlreadyExistsException({
            message: `Role with name ${name} already exists.`,
            $metadata: { httpStatusCode: 409 },
          });
        }
        const arn = `arn:aws:iam::${this.account}:role${i.Path ?? "/"}${name}`;
        this.roles.set(name, {
          arn,
          path: i.Path ?? "/",
          ...(i.PermissionsBoundary ? { boundary: i.PermissionsBoundary } : {}),
          trust: i.AssumeRolePolicyDocument!,
          policies: new Map(),
          tags: (i.Tags ?? []).map((t) => ({ Key: t.Key!, Value: t.Value! })),
        });
        return { Role: { RoleName: name, Arn: arn, Path: i.Path } };
      }),
    );
    m.on(GetRoleCommand).callsFake(
      on("GetRole", (i: GetRoleCommand["input"]) => {
        const r = this.roles.get(i.RoleName!);
        if (!r) {
          throw new NoSuchEntityException({ message: "The role cannot be found.", $metadata: { httpStatusCode: 404 } });
        }
        return {
          Role: {
            RoleName: i.RoleName,
            Arn: r.arn,
            Path: r.path,
            // As IAM returns it: URL-encoded.
            AssumeRolePolicyDocument: encodeURIComponent(r.trust),
            Tags: r.tags ?? [],
            ...(r.boundary
              ? { PermissionsBoundary: { PermissionsBoundaryType: "Policy", PermissionsBoundaryArn: r.boundary } }
              : {}),
          },
        };
      }),
    );
    m.on(PutRolePolicyCommand).callsFake(
      on("PutRolePolicy", (i: PutRolePolicyCommand["input"]) => {
        const r = this.roles.get(i.RoleName!);
        if (!r)
          throw new NoSuchEntityException({ message: "The role cannot be found.", $metadata: { httpStatusCode: 404 } });
        r.policies.set(i.PolicyName!, i.PolicyDocument!);
        return {};
      }),
    );
    const noSuch = () =>
      new NoSuchEntityException({ message: "The role cannot be found.", $metadata: { httpStatusCode: 404 } });
    m.on(DeleteRolePolicyCommand).callsFake(
      on("DeleteRolePolicy", (i: DeleteRolePolicyCommand["input"]) => {
        const r = this.roles.get(i.RoleName!);
        if (!r || !r.policies.delete(i.PolicyName!)) throw noSuch();
        return {};
      }),
    );
    m.on(DeleteRoleCommand).callsFake(
      on("DeleteRole", (i: DeleteRoleCommand["input"]) => {
        const r = this.roles.get(i.RoleName!);
        if (!r) throw noSuch();
        if (r.policies.size > 0) {
          throw new DeleteConflictException({
            message: "Cannot delete entity, must delete policies first.",
            $metadata: { httpStatusCode: 409 },
          });
        }
        this.roles.delete(i.RoleName!);
        return {};
      }),
    );
  }

  /** A copy of every role, for `restore`. */
  snapshot(): Map<string, FakeRole> {
    return new Map([...this.roles].map(([name, r]) => [name, { ...r, policies: new Map(r.policies) }]));
  }

  /** Replaces the roles with a copy of a snapshot's. */
  restore(s: Map<string, FakeRole>): void {
    this.roles.clear();
    for (const [name, r] of s) this.roles.set(name, { ...r, policies: new Map(r.policies) });
  }
}

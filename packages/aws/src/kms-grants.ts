/**
 * KMS grants that let one workspace's task role use its permit's key: created when the workspace starts,
 * revoked when it stops, found again by name (`ws-<workspace>`). Grants rather than key policy edits:
 * they are per workspace, need no policy rewrite (no race between two launches), and die with the key.
 */
import { CreateGrantCommand, type KMSClient, ListGrantsCommand, RevokeGrantCommand } from "@aws-sdk/client-kms";
import { cleanup, isError } from "./sdk-errors";

/** What a workspace task does with the permit key: read and write SSE-KMS objects, nothing else. */
export const GRANT_OPERATIONS = ["Decrypt", "GenerateDataKey", "DescribeKey"] as const;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;

/**
 * Grants `granteeRoleArn` the permit key. Idempotent: KMS answers a retried CreateGrant with the same name
 * and parameters with the existing grant. A new grant may take a few minutes to be effective everywhere
 * (KMS eventual consistency); the workspace's first reads are retried by the SDK meanwhile.
 * @returns the grant id.
 */
export async function createGrant(
  kms: KMSClient,
  keyArn: string,
  name: string,
  granteeRoleArn: string,
): Promise<string> {
  if (!ROLE_ARN.test(granteeRoleArn))
    throw new Error(`grantee ${JSON.stringify(granteeRoleArn)} is not an IAM role ARN`);
  const { GrantId } = await kms.send(
    new CreateGrantCommand({
      KeyId: keyArn,
      GranteePrincipal: granteeRoleArn,
      Operations: [...GRANT_OPERATIONS],
      Name: name,
    }),
  );
  if (!GrantId) throw new Error("KMS created a grant without an id");
  return GrantId;
}

/**
 * Revokes every grant of the key with this name (across pages of ListGrants). Idempotent; a key pending
 * deletion or deleted has nothing left to revoke that matters.
 * @returns how many grants were revoked.
 */
export async function revokeGrants(kms: KMSClient, keyArn: string, name: string): Promise<number> {
  let revoked = 0;
  let marker: string | undefined;
  try {
    do {
      const page = await kms.send(new ListGrantsCommand({ KeyId: keyArn, Marker: marker, Limit: 100 }));
      for (const g of page.Grants ?? []) {
        if (g.Name !== name || !g.GrantId) continue;
        const GrantId = g.GrantId;
        await cleanup(() => kms.send(new RevokeGrantCommand({ KeyId: keyArn, GrantId })), ["NotFoundException"], 1);
        revoked++;
      }
      marker = page.Truncated ? page.NextMarker : undefined;
    } while (marker);
  } catch (err) {
    if (isError(err, "KMSInvalidStateException", "NotFoundException")) return revoked;
    throw err;
  }
  return revoked;
}

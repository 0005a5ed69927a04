/**
 * Downloads of approved files: short-lived, count-capped links usable without a bearer token, like a
 * presigned URL. A link is `<grant id>/<secret>`; only the secret's SHA-256 is stored, so the database
 * cannot mint working links. Every use is a conditional write (the count cannot be overspent by racing
 * requests) and is audited.
 */
import { randomBytes } from "node:crypto";
import { type Actor, hasRole, requireRole } from "../actor";
import { sha256Hex } from "../audit/record";
import { AuditUnavailableError, DomainError, GoneError, NotFoundError } from "../errors";
import type { Deps } from "../ports";
import { type AuditContext, audited, recordRefusal, recordUnexpected, retryOnConflict } from "../usecase";
import { getDecrypted } from "../workspace/objects";
import { egressEvent } from "./lifecycle";
import { downloadRefusal } from "./refusals";
import { ensureReleased } from "./review";
import { egressKeys } from "./snapshot";

export interface DownloadGrant {
  id: string;
  egressId: string;
  workspaceId: string;
  permitId: string;
  requester: string;
  fileIndex: number;
  path: string;
  bytes: number;
  sha256: string;
  tokenHash: string;
  expiresAt: string;
  maxUses: number;
  usesLeft: number;
  createdAt: string;
}

/** What a spent link gives: the released plaintext (streamed) and what identifies it. */
export interface RedeemedDownload {
  permitId: string;
  path: string;
  bytes: number;
  sha256: string;
  body: AsyncIterable<Uint8Array>;
}

export interface DownloadLink {
  path: string;
  /** Relative to the server: `/dl/<grant>/<secret>`; the API makes it absolute. */
  url: string;
  expiresAt: string;
}

export async function createLinks(deps: Deps, actor: Actor, id: string): Promise<{ files: DownloadLink[] }> {
  const ctx = { actor, action: "egress.links_created", target: `egress/${id}`, details: { egressId: id } };
  return audited(deps.store, ctx, async () => {
    requireRole(actor, "download released files", "researcher");
    const v = await deps.store.get("egress", id);
    if (!v || (v.item.requester !== actor.sub && !hasRole(actor, "reviewer", "admin"))) {
      throw new NotFoundError("egress", id);
    }
    const r = v.item;
    const refused = downloadRefusal(actor, r);
    if (refused) throw refused;
    await ensureReleased(deps, r);
    const now = deps.clock.now();
    const expiresAt = new Date(now.getTime() + deps.policy.downloadTtlSeconds * 1000).toISOString();
    const links: DownloadLink[] = [];
    const grants: DownloadGrant[] = r.files.map((f, fileIndex) => {
      const secret = randomBytes(32).toString("base64url");
      const grant: DownloadGrant = {
        id: deps.ids.next("dl"),
        egressId: r.id,
        workspaceId: r.workspaceId,
        permitId: r.permitId,
        requester: r.requester,
        fileIndex,
        path: f.path,
        bytes: f.bytes,
        sha256: f.sha256,
        tokenHash: sha256Hex(secret),
        expiresAt,
        maxUses: deps.policy.downloadMaxUses,
        usesLeft: deps.policy.downloadMaxUses,
        createdAt: now.toISOString(),
      };
      links.push({ path: f.path, url: `/dl/${grant.id}/${secret}`, expiresAt });
      return grant;
    });
    await deps.store.commit({
      writes: grants.map((g) => ({ kind: "download" as const, item: g, expectedVersion: null })),
      audit: [
        egressEvent(actor.sub, "egress.links_created", r, {
          files: grants.length,
          expiresAt,
          maxUses: deps.policy.downloadMaxUses,
        }),
      ],
    });
    return { files: links };
  });
}

/**
 * Spends one use of a link and returns the released bytes. Anyone holding the link may use it (it is the
 * credential); the download is audited under the requester it was made for.
 * @throws NotFoundError for an unknown link or a wrong secret; GoneError when expired or used up.
 */
export async function redeem(deps: Deps, grantId: string, secret: string): Promise<RedeemedDownload> {
  let known: DownloadGrant | null = null;
  try {
    return await spend(deps, grantId, secret, (g) => {
      known = g;
    });
  } catch (err) {
    // Refused links are recorded where they are refused (expired, used up) or are probes (unknown link,
    // wrong secret); any other failure is recorded under the requester once the link was recognised.
    if (err instanceof NotFoundError || err instanceof GoneError || err instanceof AuditUnavailableError) throw err;
    const g = known as DownloadGrant | null;
    const ctx: AuditContext = {
      actor: { sub: g?.requester ?? "anonymous", roles: [] },
      action: "egress.downloaded",
      target: g ? `egress/${g.egressId}` : "download/*",
      details: g ? { egressId: g.egressId, permitId: g.permitId, path: g.path } : {},
    };
    if (err instanceof DomainError) await recordRefusal(deps.store, ctx, err);
    else await recordUnexpected(deps.store, ctx, err);
    throw err;
  }
}

async function spend(
  deps: Deps,
  grantId: string,
  secret: string,
  recognised: (g: DownloadGrant) => void,
): Promise<RedeemedDownload> {
  const grant = await retryOnConflict(async () => {
    const v = await deps.store.get("download", grantId);
    if (!v || v.item.tokenHash !== sha256Hex(secret)) throw new NotFoundError("download", grantId);
    const g = v.item;
    recognised(g);
    const r = await deps.store.get("egress", g.egressId);
    const refuse = async (err: GoneError) => {
      await deps.store.commit({
        writes: [],
        audit: [
          egressEvent(
            g.requester,
            "egress.downloaded",
            { id: g.egressId, workspaceId: g.workspaceId, permitId: g.permitId },
            { path: g.path, code: err.code },
            "denied",
          ),
        ],
      });
      throw err;
    };
    if (Date.parse(g.expiresAt) <= deps.clock.now().getTime()) {
      return refuse(
        new GoneError(
          "download.expired",
          `this download link expired at ${g.expiresAt}: ask for a new one (POST /v1/egress-requests/${g.egressId}/downloads)`,
        ),
      );
    }
    if (g.usesLeft <= 0) {
      return refuse(
        new GoneError(
          "download.used_up",
          `this download link was used ${g.maxUses} times, its limit: ask for a new one`,
        ),
      );
    }
    if (r?.item.status !== "approved") {
      return refuse(new GoneError("download.withdrawn", "the release this link belongs to is no longer approved"));
    }
    const next = { ...g, usesLeft: g.usesLeft - 1 };
    await deps.store.commit({
      writes: [{ kind: "download", item: next, expectedVersion: v.version }],
      audit: [
        egressEvent(g.requester, "egress.downloaded", r.item, {
          path: g.path,
          sha256: g.sha256,
          bytes: g.bytes,
          usesLeft: next.usesLeft,
        }),
      ],
    });
    return next;
  });
  const keys = await deps.keys.permitKeys(grant.permitId);
  const key = egressKeys(grant.permitId, grant.egressId).release(grant.fileIndex);
  const body = getDecrypted(deps.objects, keys, key);
  return { permitId: grant.permitId, path: grant.path, bytes: grant.bytes, sha256: grant.sha256, body };
}

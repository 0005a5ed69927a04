/**
 * Test support for the egress unit tests: an in-memory Store and AuditLog with the port's conditional
 * writes (all or nothing per commit), and builders for requests and actors. Not used by production code.
 */
import type { Actor, Role } from "../actor";
import type { AuditRecord, StoredAuditRecord } from "../audit/record";
import { ConcurrentUpdateError } from "../errors";
import type { PermitRecord } from "../permit/schema";
import type { AuditLog, Commit, EntityKind, EntityMap, ListFilter, Store, Versioned } from "../ports";
import type { EgressRequest } from "./schema";

export class MemoryStore implements Store, Pick<AuditLog, "query"> {
  readonly items = new Map<string, { version: number; item: unknown }>();
  readonly records: AuditRecord[] = [];
  /** Set to make the next commit fail, as a lost race would. */
  failNext: Error | null = null;

  async get<K extends EntityKind>(kind: K, id: string): Promise<Versioned<EntityMap[K]> | null> {
    const found = this.items.get(`${kind}/${id}`);
    return found ? { version: found.version, item: structuredClone(found.item) as EntityMap[K] } : null;
  }

  async list<K extends EntityKind>(kind: K, filter: ListFilter, page: { limit: number }) {
    const items = [...this.items.entries()]
      .filter(([k]) => k.startsWith(`${kind}/`))
      .map(([, v]) => v as Versioned<EntityMap[K]>)
      .filter((v) => {
        const x = v.item as unknown as Record<string, unknown>;
        if (filter.owner !== undefined && (x.owner ?? x.requester) !== filter.owner) return false;
        if (filter.permitId !== undefined && x.permitId !== filter.permitId) return false;
        return !filter.status || filter.status.includes(x.status as string);
      });
    return { items: items.slice(0, page.limit), next: null };
  }

  async commit(c: Commit): Promise<AuditRecord[]> {
    if (this.failNext) {
      const err = this.failNext;
      this.failNext = null;
      throw err;
    }
    for (const w of c.writes) {
      const found = this.items.get(`${w.kind}/${w.item.id}`);
      if ((found?.version ?? null) !== w.expectedVersion) throw new ConcurrentUpdateError(w.kind, w.item.id);
    }
    for (const w of c.writes) {
      const key = `${w.kind}/${w.item.id}`;
      this.items.set(key, { version: (this.items.get(key)?.version ?? 0) + 1, item: structuredClone(w.item) });
    }
    const sealed = c.audit.map((e, i) => ({
      ...e,
      seq: this.records.length + i + 1,
      at: "2026-06-01T10:00:00.000Z",
      prevHash: "",
      hash: "",
    }));
    this.records.push(...sealed);
    return sealed;
  }

  async getIdempotency() {
    return null;
  }

  async query(q: { workspaceId?: string; limit: number; cursor?: string }) {
    const from = q.cursor ? Number(q.cursor) : 0;
    const hits = this.records.filter((r) => q.workspaceId === undefined || r.details.workspaceId === q.workspaceId);
    const items = hits.slice(from, from + q.limit);
    return { items, next: from + q.limit < hits.length ? String(from + q.limit) : null };
  }

  scan(): Iterable<StoredAuditRecord> {
    return [];
  }
}

export const actor = (sub: string, ...roles: Role[]): Actor => ({ sub, roles });

export const fixedClock = { now: () => new Date("2026-06-01T10:00:00.000Z") };

export function egressRequest(overrides: Partial<EgressRequest> = {}): EgressRequest {
  return {
    id: "eg-1",
    workspaceId: "ws-1",
    permitId: "P-1",
    requester: "alice",
    status: "pending_review",
    createdAt: "2026-06-01T09:00:00.000Z",
    justification: "Table 2",
    files: [
      { path: "outputs/a.csv", bytes: 10, sha256: "a".repeat(64), verdict: "pass", findings: [] },
      { path: "outputs/b.csv", bytes: 12, sha256: "b".repeat(64), verdict: "fail", findings: [] },
    ],
    verdict: "fail",
    reviews: [],
    decidedAt: null,
    ...overrides,
  };
}

/** A store holding `r` and a permit requiring `required` reviewers. */
export async function storeWith(r: EgressRequest, required = 1): Promise<MemoryStore> {
  const s = new MemoryStore();
  await s.commit({
    writes: [
      { kind: "egress", item: r, expectedVersion: null },
      {
        kind: "permit",
        // Only the permit's egress policy is read by these tests.
        item: { id: r.permitId, egress: { reviewersRequired: required } } as unknown as PermitRecord,
        expectedVersion: null,
      },
    ],
    audit: [],
  });
  return s;
}

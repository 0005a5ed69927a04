/** Dataset use cases: admins register datasets; admins and reviewers read all; researchers those on their permits. */
import { type Actor, hasRole, requireRole } from "../actor";
import { ConflictError, NotFoundError, ValidationError } from "../errors";
import { listAll, pageOf } from "../paging";
import type { Deps } from "../ports";
import type { Page } from "../schema-common";
import {
  audited,
  commitCreation,
  type Idempotency,
  idempotencyRecord,
  idempotentReplay,
  mustGet,
  recordRefusal,
  requireRoleAudited,
} from "../usecase";
import type { DatasetInput, Dataset as DatasetT } from "./schema";

export * from "./schema";

type D = Pick<Deps, "store" | "clock" | "sources">;

async function create(
  deps: D,
  actor: Actor,
  input: DatasetInput,
  idem?: Idempotency,
): Promise<{ dataset: DatasetT; replayed: boolean }> {
  return audited(deps.store, { actor, action: "dataset.created", target: `dataset/${input.id}` }, async () => {
    requireRole(actor, "register a dataset", "admin");
    const previous = await idempotentReplay(deps, actor, idem);
    if (previous) return { dataset: await mustGet(deps.store, "dataset", previous), replayed: true };
    if (await deps.store.get("dataset", input.id)) {
      throw new ConflictError("dataset.exists", `dataset ${input.id} already exists`);
    }
    const problem = await deps.sources.check(input.source);
    if (problem) {
      throw new ValidationError("dataset.source_unreadable", `source cannot be used: ${problem}`, [
        { path: "source", message: problem },
      ]);
    }
    const now = deps.clock.now();
    const dataset: DatasetT = { ...input, createdAt: now.toISOString(), createdBy: actor.sub };
    const { id, replayed } = await commitCreation(deps, actor, idem, async () => {
      await deps.store.commit({
        writes: [{ kind: "dataset", item: dataset, expectedVersion: null }],
        audit: [
          {
            actor: actor.sub,
            action: "dataset.created",
            target: `dataset/${dataset.id}`,
            outcome: "allowed",
            details: {
              datasetId: dataset.id,
              format: dataset.format,
              identifierColumns: dataset.identifierColumns.length,
            },
          },
        ],
        idempotency: idempotencyRecord(actor, idem, dataset.id, now),
      });
      return dataset.id;
    });
    return { dataset: replayed ? await mustGet(deps.store, "dataset", id) : dataset, replayed };
  });
}

/** Ids of the datasets on permits naming the researcher. */
async function researcherDatasetIds(deps: Pick<Deps, "store">, sub: string): Promise<Set<string>> {
  const permits = await listAll((page) => deps.store.list("permit", { researcher: sub }, page));
  return new Set(permits.flatMap((p) => p.item.datasets));
}

const seesAll = (actor: Actor) => hasRole(actor, "admin", "reviewer");

async function list(deps: D, actor: Actor, page: { limit: number; cursor?: string }): Promise<Page<DatasetT>> {
  await requireRoleAudited(
    deps.store,
    { actor, action: "dataset.list", target: "dataset/*" },
    "list datasets",
    "admin",
    "reviewer",
    "researcher",
  );
  if (seesAll(actor)) {
    const res = await deps.store.list("dataset", {}, page);
    return { items: res.items.map((v) => v.item), next: res.next };
  }
  const ids = [...(await researcherDatasetIds(deps, actor.sub))].sort();
  return pageOf(ids, page, async (id) => (await deps.store.get("dataset", id))?.item);
}

async function get(deps: D, actor: Actor, id: string): Promise<DatasetT> {
  await requireRoleAudited(
    deps.store,
    { actor, action: "dataset.read", target: `dataset/${id}` },
    "read a dataset",
    "admin",
    "reviewer",
    "researcher",
  );
  const found = await deps.store.get("dataset", id);
  if (!found) throw new NotFoundError("dataset", id);
  if (!seesAll(actor) && !(await researcherDatasetIds(deps, actor.sub)).has(id)) {
    const err = new NotFoundError("dataset", id);
    await recordRefusal(deps.store, { actor, action: "dataset.read", target: `dataset/${id}` }, err);
    throw err;
  }
  return found.item;
}

export const Dataset = { create, list, get };
export type Dataset = DatasetT;

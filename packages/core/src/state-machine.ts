/**
 * State machines as data: each entity declares its transition table; a transition not in the table throws.
 * The tables are exported so docs and tests can be checked against them.
 */
import { ConflictError } from "./errors";

export type TransitionTable<S extends string> = Readonly<Record<S, readonly S[]>>;

export function canTransition<S extends string>(table: TransitionTable<S>, from: S, to: S): boolean {
  return table[from].includes(to);
}

/** @throws ConflictError (`<entity>.invalid_transition`) when `from -> to` is not in the table. */
export function assertTransition<S extends string>(entity: string, table: TransitionTable<S>, from: S, to: S): void {
  if (!canTransition(table, from, to)) {
    throw new ConflictError(`${entity}.invalid_transition`, `${entity} cannot go from ${from} to ${to}`);
  }
}

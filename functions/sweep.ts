/**
 * Lambda entrypoint (placeholder until the AWS adapters are composed here): the stacks point at
 * `functions/sweep.handler`.
 */
import { adapterPending } from "./lib/unavailable";

export async function handler(): Promise<never> {
  throw adapterPending();
}

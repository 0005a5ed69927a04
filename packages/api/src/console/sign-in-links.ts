/**
 * One-time sign-in links for `spe console`: the CLI, holding a token, asks for a link; the browser that
 * opens it is asked to continue as that user, and that same-origin post (with the sign-in form's CSRF
 * cookie) gets a session and spends the link. The link carries a random code, never the token; only
 * the code's SHA-256 is held, for 60 seconds at most. Held in this process's memory: on one node that is
 * the whole server; behind several instances (Lambda) a link works only on the instance that made it, so
 * there the hosted UI (OIDC) is the way in.
 */
import { createHash, randomBytes } from "node:crypto";
import type { Actor } from "@spe/core";

export const LINK_TTL_MS = 60_000;
const MAX_LINKS = 1000;

interface Pending {
  actor: Actor;
  /** The token's expiry (unix seconds): the session may not outlive it. */
  tokenExp: number;
  until: number;
}

const hashOf = (code: string) => createHash("sha256").update(code).digest("base64url");

export class SignInLinks {
  readonly #pending = new Map<string, Pending>();

  /** @returns the code to put in the link. */
  create(actor: Actor, tokenExp: number, now: number): string {
    for (const [k, p] of this.#pending) if (p.until <= now) this.#pending.delete(k);
    if (this.#pending.size >= MAX_LINKS) {
      const oldest = this.#pending.keys().next().value;
      if (oldest !== undefined) this.#pending.delete(oldest);
    }
    const code = randomBytes(32).toString("base64url");
    this.#pending.set(hashOf(code), { actor, tokenExp, until: now + LINK_TTL_MS });
    return code;
  }

  /** The actor a code would sign in, without spending it (null when unknown or expired). */
  peek(code: string, now: number): Actor | null {
    const p = this.#pending.get(hashOf(code));
    return p && p.until > now ? p.actor : null;
  }

  /** Spends a code: the first call within its lifetime gets the actor; every other call gets null. */
  take(code: string, now: number): { actor: Actor; tokenExp: number } | null {
    const key = hashOf(code);
    const p = this.#pending.get(key);
    this.#pending.delete(key);
    if (!p || p.until <= now) return null;
    return { actor: p.actor, tokenExp: p.tokenExp };
  }
}

/**
 * Calling the API as a client calls the API Lambda: the app functions/api.ts builds (createApp over the
 * composed AWS adapters, downloads offloaded), bearer tokens of the test actors, and, after each request,
 * `dispatcher.idle()` as the Lambda handler awaits it before returning.
 */
import type { AwsWorld } from "./world";

export interface Answer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: JSON bodies of many shapes, asserted field by field
  body: any;
  headers: Headers;
}

export type ApiCall = (
  method: string,
  path: string,
  o: { as: "admin" | "alice" | "reviewer" | "auditor"; body?: unknown; raw?: Uint8Array; key?: string },
) => Promise<Answer>;

export function apiCaller(w: AwsWorld, app: ReturnType<AwsWorld["app"]>): ApiCall {
  return async (method, path, o) => {
    const headers: Record<string, string> = { authorization: `Bearer token-${o.as}` };
    if (o.body !== undefined) headers["content-type"] = "application/json";
    if (o.key) headers["idempotency-key"] = o.key;
    const res = await app.request(path, {
      method,
      headers,
      ...(o.raw ? { body: o.raw } : o.body !== undefined ? { body: JSON.stringify(o.body) } : {}),
    });
    await w.a.dispatcher.idle();
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
  };
}

/**
 * The client of the SPE API: bearer token, JSON in and out. A problem+json answer becomes an ApiError,
 * no answer at all an UnreachableError, so commands only deal with successful bodies.
 */
import { ApiError, CliError, EXIT_FAILURE, UnreachableError } from "./errors";
import type { Problem } from "./resources";

export type Query = Record<string, string | number | undefined>;

export interface ApiClientOptions {
  /** Base URL of the server, e.g. http://localhost:8787 (a path prefix is kept). */
  url: string;
  token: string;
  /** @default 30000 */
  timeoutMs?: number;
}

/** Builds a route with every interpolated value encoded as one path segment: route`/v1/permits/${id}`. */
export function route(strings: TemplateStringsArray, ...values: string[]): string {
  return strings.reduce(
    (path, s, i) => path + s + (i < values.length ? encodeURIComponent(values[i] as string) : ""),
    "",
  );
}

/**
 * Encodes a relative path that may hold `/` for the end of a URL: each segment on its own, the `/` kept.
 * A path with `.` or `..` segments is sent as one encoded segment instead (`..%2Fx`): URL parsers would
 * otherwise resolve them away, and the server, which refuses such paths, would never see them.
 */
export function pathSegments(path: string): string {
  const segments = path.split("/");
  if (segments.some((s) => s === "." || s === "..")) return encodeURIComponent(path);
  return segments.map(encodeURIComponent).join("/");
}

/** @throws CliError (exit 2) when `url` is not an http(s) URL. */
export function parseBaseUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CliError(`SPE_URL is not a valid URL: ${JSON.stringify(url)} (e.g. http://localhost:8787)`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new CliError(`SPE_URL must be an http:// or https:// URL, got ${JSON.stringify(url)}`);
  }
  return parsed;
}

export class ApiClient {
  private readonly base: string;

  constructor(private readonly opts: ApiClientOptions) {
    this.base = parseBaseUrl(opts.url).href.replace(/\/+$/, "");
  }

  get<T>(path: string, query: Query = {}): Promise<T> {
    return this.request<T>("GET", path, { query });
  }

  post<T>(path: string, body: unknown, headers: Record<string, string> = {}): Promise<T> {
    return this.request<T>("POST", path, { body, headers });
  }

  delete<T>(path: string): Promise<T> {
    return this.request<T>("DELETE", path, {});
  }

  /**
   * PUT of raw bytes (an upload), answered with JSON. The connection is not kept: a server refusing the
   * body early (413) closes it without reading the rest, and a pooled reuse would then fail.
   */
  put<T>(path: string, bytes: Uint8Array, contentType = "application/octet-stream"): Promise<T> {
    return this.request<T>("PUT", path, { raw: bytes, headers: { "content-type": contentType, connection: "close" } });
  }

  private async request<T>(
    method: string,
    path: string,
    o: { query?: Query; body?: unknown; raw?: Uint8Array; headers?: Record<string, string> },
  ): Promise<T> {
    const url = new URL(this.base + path);
    for (const [k, v] of Object.entries(o.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = {
      accept: "application/json",
      authorization: `Bearer ${this.opts.token}`,
      ...o.headers,
    };
    if (o.body !== undefined) headers["content-type"] = "application/json";
    let status: number;
    let text: string;
    try {
      const res = await fetch(url, {
        method,
        headers,
        body: o.raw ?? (o.body === undefined ? undefined : JSON.stringify(o.body)),
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000),
      });
      status = res.status;
      text = await res.text();
    } catch (err) {
      throw new UnreachableError(this.base, reasonOf(err, this.opts.timeoutMs ?? 30_000));
    }
    const body = parseJson(text);
    if (status < 200 || status > 299) throw new ApiError(status, asProblem(body, status));
    if (body === undefined) {
      throw new CliError(
        `the server at ${this.base} answered ${method} ${path} with a body that is not JSON`,
        EXIT_FAILURE,
      );
    }
    return body as T;
  }
}

function parseJson(text: string): unknown {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function asProblem(body: unknown, status: number): Problem {
  if (body && typeof body === "object") {
    const p = body as Problem;
    return { ...p, errors: Array.isArray(p.errors) ? p.errors : undefined };
  }
  return { status, detail: `the server answered HTTP ${status}` };
}

function reasonOf(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError")) {
    return `no answer within ${timeoutMs / 1000} s`;
  }
  const cause = err instanceof Error ? (err.cause as { code?: string; message?: string } | undefined) : undefined;
  return cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
}

/**
 * The client of the SPE API: bearer token, JSON in and out. A problem+json answer becomes an ApiError,
 * no answer at all an UnreachableError, so commands only deal with successful bodies.
 */
import { ApiError, CliError, EXIT_FAILURE, UnreachableError } from "./errors";
import type { Problem } from "./resources";

export type Query = Record<string, string | number | undefined>;

/** The body of a raw (non-JSON) answer, with its headers. */
export interface RawResponse {
  bytes: Uint8Array;
  headers: Headers;
}

export interface FetchBytesOptions {
  /** Sent as a bearer token when given; download links are their own credential and get none. */
  token?: string;
  /** @default 30000 */
  timeoutMs?: number;
  /** Refuse a body longer than this (a misbehaving server cannot fill memory). @default no limit */
  maxBytes?: number;
}

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

  /** GET of raw bytes (a file's content) with the bearer token; a problem answer becomes an ApiError. */
  getBytes(path: string, maxBytes?: number): Promise<RawResponse> {
    return fetchBytes(this.base + path, { token: this.opts.token, timeoutMs: this.opts.timeoutMs, maxBytes });
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

/**
 * GET of raw bytes at an absolute http(s) URL, e.g. a download link. No authorization header is sent
 * unless `o.token` is given.
 * @throws ApiError for a non-2xx answer (its problem+json when it has one), UnreachableError without an
 * answer, CliError (exit 1) for a URL that is not http(s) or a body over `o.maxBytes`.
 */
export async function fetchBytes(url: string, o: FetchBytesOptions = {}): Promise<RawResponse> {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    throw new CliError(`the server gave a URL that is not valid: ${JSON.stringify(url)}`, EXIT_FAILURE);
  }
  if (target.protocol !== "http:" && target.protocol !== "https:") {
    throw new CliError(`the server gave a URL that is not http(s): ${JSON.stringify(url)}`, EXIT_FAILURE);
  }
  const timeoutMs = o.timeoutMs ?? 30_000;
  const headers: Record<string, string> = { accept: "application/octet-stream, application/problem+json" };
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  let res: Response;
  let bytes: Uint8Array;
  try {
    res = await fetch(target, { headers, signal: AbortSignal.timeout(timeoutMs) });
    if (res.status < 200 || res.status > 299) {
      const text = await res.text();
      throw new ApiError(res.status, asProblem(parseJson(text), res.status));
    }
    bytes = await readAll(res, o.maxBytes);
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new UnreachableError(target.origin, reasonOf(err, timeoutMs));
  }
  return { bytes, headers: res.headers };
}

/** The whole body, refused past `maxBytes`. */
async function readAll(res: Response, maxBytes = Number.POSITIVE_INFINITY): Promise<Uint8Array> {
  if (!res.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw new CliError(`the server sent more than the expected ${maxBytes} bytes`, EXIT_FAILURE);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
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

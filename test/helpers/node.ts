/**
 * Test builders: a real single node over a fresh temp data dir, a controllable clock, tokens per role,
 * and a small JSON request helper over `app.request()` (in-process) or a real HTTP server.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Clock, Role } from "@spe/core";
import { createNode, issueToken, type NodeOptions, type SpeNode } from "@spe/local";

/** A clock the test moves by hand; `realtime` makes it follow the wall clock (for real timers) plus any advance. */
export class TestClock implements Clock {
  private offset = 0;
  constructor(
    private fixed = Date.parse("2026-06-01T10:00:00.000Z"),
    private readonly realtime = false,
  ) {}
  get t(): number {
    return this.realtime ? Date.now() + this.offset : this.fixed;
  }
  now() {
    return new Date(this.t);
  }
  advance(ms: number) {
    if (this.realtime) this.offset += ms;
    else this.fixed += ms;
  }
}

export interface TestNode extends SpeNode {
  dataDir: string;
  clock: TestClock;
  token(sub: string, ...roles: Role[]): Promise<string>;
  /** In-process request with JSON body and bearer token; returns status and parsed body. */
  call(
    method: string,
    path: string,
    opts?: { token?: string; body?: unknown; headers?: Record<string, string> },
  ): Promise<{
    status: number;
    // biome-ignore lint/suspicious/noExplicitAny: response bodies are asserted field by field in tests
    body: any;
    headers: Headers;
  }>;
  dispose(): Promise<void>;
}

export function makeNode(opts: Partial<NodeOptions> & { dataDir?: string; clock?: TestClock } = {}): TestNode {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), "spe-test-"));
  const clock = opts.clock ?? new TestClock();
  const node = createNode({ log: () => {}, ...opts, dataDir, clock });
  return {
    ...node,
    dataDir,
    clock,
    token: (sub, ...roles) => issueToken(node.issuerKey, sub, roles, 3600),
    async call(method, path, o = {}) {
      const headers: Record<string, string> = { ...o.headers };
      if (o.token) headers.authorization = `Bearer ${o.token}`;
      let body: string | undefined;
      if (o.body !== undefined) {
        body = typeof o.body === "string" ? o.body : JSON.stringify(o.body);
        headers["content-type"] ??= "application/json";
      }
      const res = await node.app.request(path, { method, headers, body });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {}
      return { status: res.status, body: parsed, headers: res.headers };
    },
    async dispose() {
      await node.close();
      if (!opts.dataDir) {
        rmSync(dataDir, { recursive: true, force: true });
        rmSync(node.runDir, { recursive: true, force: true });
      }
    },
  };
}

import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@spe/local";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { afterEach, describe, expect, it } from "vitest";
import { seedWorld } from "../helpers/fixtures";
import { makeNode, type TestNode } from "../helpers/node";

const nodes: TestNode[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.dispose().catch(() => {});
});
const node = (opts: Parameters<typeof makeNode>[0] = {}) => {
  const n = makeNode(opts);
  nodes.push(n);
  return n;
};

describe("edge behaviour", () => {
  it("serves /health and /openapi.json without a token", async () => {
    const n = node();
    expect((await n.call("GET", "/health")).body).toEqual({ status: "ok" });
    const doc = (await n.call("GET", "/openapi.json")).body;
    expect(doc.openapi).toBe("3.1.0");
    for (const path of [
      "/v1/datasets",
      "/v1/permits/{id}/revoke",
      "/v1/permits/{permitId}/workspaces",
      "/v1/workspaces/{id}/extend",
      "/v1/audit/verify",
    ]) {
      expect(doc.paths).toHaveProperty([path]);
    }
    expect(doc.components.schemas).toHaveProperty("Problem");
  });

  it.each([
    ["no header", {}],
    ["a malformed header", { authorization: "Token abc" }],
    ["garbage", { authorization: "Bearer a.b.c" }],
  ])("answers 401 problem+json to %s", async (_, headers) => {
    const n = node();
    const res = await n.call("GET", "/v1/permits", { headers });
    expect(res.status).toBe(401);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(res.headers.get("www-authenticate")).toContain("Bearer");
    expect(res.body).toMatchObject({ status: 401, code: "auth.unauthenticated", title: "Unauthorized" });
  });

  it("answers 401 to an expired token and to one signed by another key", async () => {
    const n = node();
    const other = node();
    const { issueToken } = await import("@spe/local");
    const expired = await new SignJWT({ groups: ["admin"] })
      .setProtectedHeader({ alg: "ES256" })
      .setSubject("ana")
      .setIssuer("spe-local")
      .setAudience("spe")
      .setExpirationTime(Math.floor(Date.now() / 1000) - 10)
      .sign(n.issuerKey.privateKey!);
    expect((await n.call("GET", "/v1/permits", { token: expired })).body.detail).toMatch(/expired/);
    const foreign = await issueToken(other.issuerKey, "ana", ["admin"], 60);
    expect((await n.call("GET", "/v1/permits", { token: foreign })).status).toBe(401);
  });

  it("answers 400 to malformed JSON, 415 to a non-JSON body, 413 over 1 MiB, and creates nothing", async () => {
    const n = node();
    const w = await seedWorld(n);
    const url = `/v1/permits/${w.permitId}/workspaces`;
    const bad = await n.call("POST", url, { token: w.alice, body: "{not json" });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe("request.malformed");
    const text = await n.call("POST", url, {
      token: w.alice,
      body: "hours=2",
      headers: { "content-type": "text/plain" },
    });
    expect(text.status).toBe(415);
    const big = await n.call("POST", url, {
      token: w.alice,
      body: JSON.stringify({ hours: 1, pad: "x".repeat(1_100_000) }),
    });
    expect(big.status).toBe(413);
    expect(big.body.code).toBe("request.too_large");
    expect((await n.call("GET", "/v1/workspaces", { token: w.admin })).body.items).toEqual([]);
  });

  const ROUTES = [
    ["POST", "/v1/datasets"],
    ["GET", "/v1/datasets"],
    ["GET", "/v1/datasets/ds-1"],
    ["POST", "/v1/permits"],
    ["GET", "/v1/permits"],
    ["GET", "/v1/permits/P-1"],
    ["POST", "/v1/permits/P-1/suspend"],
    ["POST", "/v1/permits/P-1/reinstate"],
    ["POST", "/v1/permits/P-1/revoke"],
    ["POST", "/v1/permits/P-1/workspaces"],
    ["GET", "/v1/workspaces"],
    ["GET", "/v1/workspaces/ws-1"],
    ["POST", "/v1/workspaces/ws-1/extend"],
    ["DELETE", "/v1/workspaces/ws-1"],
    ["GET", "/v1/audit"],
    ["GET", "/v1/audit/verify"],
  ] as const;

  it("answers 401 on every /v1 route without a token, and 413 on every POST over 1 MiB", async () => {
    const n = node();
    const admin = await n.token("ana", "admin");
    const big = JSON.stringify({ pad: "x".repeat(1_100_000) });
    for (const [method, path] of ROUTES) {
      expect((await n.call(method, path)).status, `${method} ${path}`).toBe(401);
      if (method === "POST") expect((await n.call(method, path, { token: admin, body: big })).status, path).toBe(413);
    }
  });

  it("never answers 500 to odd input", async () => {
    const n = node();
    const w = await seedWorld(n);
    const odd = [
      ["POST", "/v1/permits", "[]"],
      ["POST", "/v1/permits", "null"],
      ["POST", "/v1/permits", '"string"'],
      [
        "POST",
        "/v1/datasets",
        JSON.stringify({ id: "../../etc", title: "t", holder: "h", source: "file:///", format: "csv" }),
      ],
      ["POST", "/v1/datasets", JSON.stringify({ id: "x".repeat(5000) })],
      ["POST", `/v1/permits/${w.permitId}/workspaces`, JSON.stringify({ hours: 1e308 })],
      ["POST", `/v1/permits/${w.permitId}/workspaces`, JSON.stringify({ hours: -0 })],
      ["POST", "/v1/workspaces/%00/extend", JSON.stringify({ hours: 1 })],
      ["GET", "/v1/audit?after=-1", undefined],
      ["GET", "/v1/audit?limit=abc", undefined],
      ["GET", "/v1/workspaces?cursor=%%%", undefined],
      ["GET", "/v1/workspaces?status=nope", undefined],
      ["DELETE", `/v1/workspaces/${"a".repeat(300)}`, undefined],
    ] as const;
    for (const [method, path, body] of odd) {
      const res = await n.call(method, path, { token: w.admin, ...(body !== undefined ? { body } : {}) });
      expect(res.status, `${method} ${path}`).toBeLessThan(500);
    }
    const unknown = await n.call("GET", "/v1/nothing-here", { token: w.admin });
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe("route.not_found");
  });

  it("accepts tokens of an external OIDC issuer by its JWKS URL, with roles from cognito:groups", async () => {
    const { publicKey, privateKey } = await generateKeyPair("RS256");
    const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "RS256", use: "sig" };
    const jwks = createServer((_, res) => {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((r) => jwks.listen(0, "127.0.0.1", r));
    const jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`;
    try {
      const n = node({ externalIssuer: { issuer: "https://idp.example/realm", jwksUrl, audience: "spe-client" } });
      const sign = (iss: string, aud = "spe-client") =>
        new SignJWT({ "cognito:groups": ["auditor", "nonsense"] })
          .setProtectedHeader({ alg: "RS256", kid: "k1" })
          .setSubject("external-otto")
          .setIssuer(iss)
          .setAudience(aud)
          .setExpirationTime("5m")
          .sign(privateKey);
      const ok = await n.call("GET", "/v1/audit/verify", { token: await sign("https://idp.example/realm") });
      expect(ok.status).toBe(200);
      expect((await n.call("GET", "/v1/permits", { token: await sign("https://evil.example") })).status).toBe(401);
      const otherClient = await sign("https://idp.example/realm", "another-app");
      expect((await n.call("GET", "/v1/permits", { token: otherClient })).status).toBe(401);
      // Roles outside the four are ignored: an auditor cannot launch.
      expect(
        (await n.call("POST", "/v1/datasets", { token: await sign("https://idp.example/realm"), body: {} })).status,
      ).toBe(400);
    } finally {
      jwks.close();
    }
  });
});

describe("the HTTP server", () => {
  it("logs one line per request without bodies or query strings", async () => {
    const lines: Record<string, unknown>[] = [];
    const n = node({ log: (l) => lines.push(l) });
    const w = await seedWorld(n);
    lines.length = 0;
    await n.call("GET", "/v1/audit?actor=secret-query", { token: w.admin });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ msg: "request", method: "GET", path: "/v1/audit", status: 200, actor: "ana" });
    expect(JSON.stringify(lines)).not.toContain("secret-query");
  });

  it("finishes in-flight requests on shutdown and seals the audit head", async () => {
    const n = node();
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    n.app.get("/slow", async (c) => {
      await gate;
      return c.json({ done: true });
    });
    await seedWorld(n);
    const server = await serve(n, 0);
    const inflight = fetch(`${server.url}/slow`).then((r) => r.json());
    await new Promise((r) => setTimeout(r, 50));
    const closing = server.shutdown();
    await new Promise((r) => setTimeout(r, 50));
    await expect(fetch(`${server.url}/health`)).rejects.toThrow();
    release();
    expect(await inflight).toEqual({ done: true });
    await closing;
    // Reopen the data dir: the head was sealed at shutdown.
    const again = node({ dataDir: n.dataDir });
    const seals = await again.store.seals();
    expect(seals.at(-1)?.count).toBe(2);
    expect(
      (await again.call("GET", "/v1/audit/verify", { token: await again.token("ana", "auditor") })).body,
    ).toMatchObject({
      ok: true,
      sealed: { count: 2 },
    });
  });
});

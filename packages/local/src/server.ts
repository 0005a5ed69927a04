/**
 * `npm start`: the single-node SPE. Reads its configuration from the environment (this is the only
 * place that does), seeds the demo on first run, prints how to use it, and shuts down gracefully.
 */
import { isAbsolute, resolve } from "node:path";
import { DEMO_DATASET_ID, DEMO_PERMIT_ID, DEMO_USERS, seedDemo } from "./demo";
import { issueToken } from "./local-issuer";
import { createNode, dataPaths } from "./node";
import { serve } from "./serve";

const env = process.env;
const dataDir = resolve(env.SPE_DATA_DIR ?? ".spe");
const port = Number(env.PORT ?? 8787);
const host = env.SPE_HOST ?? "127.0.0.1";
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`PORT must be a port number, got ${JSON.stringify(env.PORT)}`);
  process.exit(2);
}
const external = [env.SPE_JWT_ISSUER, env.SPE_JWKS_URL, env.SPE_JWT_AUDIENCE].filter(Boolean).length;
if (external !== 0 && external !== 3) {
  console.error(
    "to accept an external OIDC issuer set all of SPE_JWT_ISSUER, SPE_JWKS_URL and SPE_JWT_AUDIENCE (the client id " +
      "tokens must be issued to: without it any client of that issuer could call the SPE); or none of them",
  );
  process.exit(2);
}

const sourceRoots = env.SPE_SOURCE_ROOTS?.split(":").filter(Boolean);
if (sourceRoots?.some((r) => !isAbsolute(r))) {
  console.error(
    `SPE_SOURCE_ROOTS must be absolute paths separated by ':', got ${JSON.stringify(env.SPE_SOURCE_ROOTS)}`,
  );
  process.exit(2);
}

let node: ReturnType<typeof createNode>;
try {
  node = createNode({
    dataDir,
    ...(sourceRoots ? { sourceRoots: [...sourceRoots, dataPaths(dataDir).holder] } : {}),
    ...(env.SPE_JWT_ISSUER && env.SPE_JWKS_URL && env.SPE_JWT_AUDIENCE
      ? { externalIssuer: { issuer: env.SPE_JWT_ISSUER, jwksUrl: env.SPE_JWKS_URL, audience: env.SPE_JWT_AUDIENCE } }
      : {}),
  });
} catch (err) {
  console.error(`cannot start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
const demo = env.SPE_DEMO !== "0";
if (demo) await seedDemo(node.deps, dataDir);
await node.startBackground();
const server = await serve(node, port, host).catch(async (err: NodeJS.ErrnoException) => {
  await node.close();
  console.error(
    err.code === "EADDRINUSE"
      ? `port ${port} on ${host} is already in use: stop the other server or set PORT, e.g. PORT=8788 npm start`
      : `cannot listen on ${host}:${port}: ${err.message}`,
  );
  process.exit(1);
});

const banner: string[] = [
  "",
  `SPE controller listening on ${server.url}  (data: ${dataDir})`,
  `  health:  ${server.url}/health    API description: ${server.url}/openapi.json`,
  `  audit signing key ${node.signer.keyId}: keep a copy of ${dataPaths(dataDir).keys}/audit-signing.pub.pem off this`,
  "  machine to verify independently: npx spe audit verify --data-dir DIR --public-key COPY.pem",
];
if (demo) {
  const token = (sub: string, roles: Parameters<typeof issueToken>[2]) =>
    issueToken(node.issuerKey, sub, roles, 8 * 3600);
  banner.push(
    "",
    `Demo: dataset ${DEMO_DATASET_ID} (4,000 synthetic oncology records) and permit ${DEMO_PERMIT_ID} naming ${DEMO_USERS.researcher} and ${DEMO_USERS.coResearcher}.`,
    "Tokens (valid 8 h; make more with: npx spe token --user U --roles r1,r2):",
    `  researcher (${DEMO_USERS.researcher}): export SPE_TOKEN=${await token(DEMO_USERS.researcher, ["researcher"])}`,
    `  reviewer   (${DEMO_USERS.reviewer}):   export REVIEWER_TOKEN=${await token(DEMO_USERS.reviewer, ["reviewer"])}`,
    `  admin      (${DEMO_USERS.admin}):    export ADMIN_TOKEN=${await token(DEMO_USERS.admin, ["admin"])}`,
    `  auditor    (${DEMO_USERS.auditor}):   export AUDITOR_TOKEN=${await token(DEMO_USERS.auditor, ["auditor"])}`,
    "",
    "Try, in another terminal (after the researcher export above):",
    `  npx spe workspaces launch ${DEMO_PERMIT_ID} --hours 2`,
    "  npx spe workspaces list",
    `  npx spe audit verify --data-dir ${JSON.stringify(dataDir)}`,
  );
}
banner.push("", "Ctrl-C stops the server (in-flight requests finish, the audit head is sealed).", "");
process.stderr.write(`${banner.join("\n")}\n`);

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`\n${signal}: shutting down...\n`);
    server.shutdown().then(
      () => process.exit(0),
      (err) => {
        console.error(err);
        process.exit(1);
      },
    );
  });
}

/**
 * `npm start`: the single-node SPE. Reads its configuration from the environment (this is the only
 * place that does), seeds the demo on first run, prints how to use it, and shuts down gracefully.
 */
import { isAbsolute, resolve } from "node:path";
import { DEMO_DATASET_ID, DEMO_PERMIT_ID, DEMO_SCRIPT, DEMO_USERS, demoWorkspace, seedDemo } from "./demo";
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

const runtime = env.SPE_RUNTIME ?? "bubblewrap";
if (runtime !== "bubblewrap" && runtime !== "unsafe-process") {
  console.error(`SPE_RUNTIME must be bubblewrap (default) or unsafe-process, got ${JSON.stringify(runtime)}`);
  process.exit(2);
}
if (env.SPE_RUN_DIR && !isAbsolute(env.SPE_RUN_DIR)) {
  console.error(`SPE_RUN_DIR must be an absolute path, got ${JSON.stringify(env.SPE_RUN_DIR)}`);
  process.exit(2);
}
const graceDays = env.SPE_KEY_GRACE_DAYS === undefined ? undefined : Number(env.SPE_KEY_GRACE_DAYS);
if (graceDays !== undefined && !(Number.isFinite(graceDays) && graceDays >= 0 && graceDays <= 180)) {
  console.error(
    `SPE_KEY_GRACE_DAYS must be a number of days from 0 to 180 (EHDS: delete within 6 months), got ${JSON.stringify(env.SPE_KEY_GRACE_DAYS)}`,
  );
  process.exit(2);
}
if (runtime === "unsafe-process") {
  console.error(
    "WARNING: SPE_RUNTIME=unsafe-process runs workspace jobs WITHOUT a sandbox: they can reach the network, the " +
      "controller's data directory and keys, and other workspaces. For development only; never with real data.",
  );
}

let node: ReturnType<typeof createNode>;
try {
  node = createNode({
    dataDir,
    runtime,
    ...(env.SPE_RUN_DIR ? { runDir: env.SPE_RUN_DIR } : {}),
    ...(graceDays === undefined ? {} : { policy: { keyGraceDays: graceDays } }),
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
let demoWs: Awaited<ReturnType<typeof demoWorkspace>> = null;
if (demo) {
  try {
    demoWs = await demoWorkspace(node.deps, () => node.dispatcher.idle());
  } catch (err) {
    console.error(`the demo workspace could not be prepared: ${err instanceof Error ? err.message : String(err)}`);
  }
}
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
  `  health:  ${server.url}/health    API description: ${server.url}/openapi.json    console: ${server.url}/console`,
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
  );
  if (demoWs?.status === "ready") {
    banner.push(
      `  npx spe workspaces show ${demoWs.id}            # ${DEMO_USERS.researcher}'s workspace: staged, pseudonymised data`,
      `  npx spe jobs run ${demoWs.id} -- python3 home/${DEMO_SCRIPT}   # the example analysis, in the sandbox`,
      `  npx spe files list ${demoWs.id}                 # what it wrote to outputs/`,
      `  npx spe egress request ${demoWs.id} outputs/stage_by_vital_status.csv --justification "Table 1"`,
      "  SPE_TOKEN=$REVIEWER_TOKEN npx spe egress list --status pending_review   # the reviewer's queue",
      `  npx spe console --user ${DEMO_USERS.reviewer} --roles reviewer   # or review it in the web console (${server.url}/console)`,
      "  SPE_TOKEN=$REVIEWER_TOKEN npx spe egress review eg-... --approve        # (--reject/--request-changes need --comment)",
      "  npx spe egress download eg-... --out released/  # the researcher: exactly the approved bytes, hash verified",
      `  npx spe files upload ${demoWs.id} my_analysis.py   # your own code, then: spe jobs run ... -- python3 home/my_analysis.py`,
    );
  } else {
    banner.push(
      `  npx spe workspaces launch ${DEMO_PERMIT_ID} --hours 2`,
      ...(demoWs
        ? [
            `  (the demo workspace ${demoWs.id} is ${demoWs.status}${demoWs.failureReason ? `: ${demoWs.failureReason}` : ""})`,
          ]
        : []),
    );
  }
  banner.push("  npx spe workspaces list", `  npx spe audit verify --data-dir ${JSON.stringify(dataDir)}`);
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

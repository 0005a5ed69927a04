/**
 * Lambda bundles: each `functions/*.ts` bundled as `sst deploy` bundles it (esbuild, ESM, minified: see
 * FUNCTION_BUNDLING in functions/lib/bundling.ts), its size, and its cold-start import time in a fresh Node process (median
 * of 5). Baseline, measured the same way in the same run: a one-line handler that imports only the DynamoDB
 * client, i.e. the smallest useful AWS Lambda. Targets (issue 5): < 1 MB and < 300 ms per function.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { FUNCTION_BUNDLING } from "../functions/lib/bundling";
import { readAwsConfig, readConsoleConfig } from "../packages/aws/src/config";
import { emit, median, progress, round } from "./util";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const RUNS = 5;

/** What the stacks put in every function's environment (shape only: nothing is called at import). */
const FAKE_ENV: Record<string, string> = {
  SPE_STAGE: "bench",
  SPE_TABLE_NAME: "spe-bench-table",
  SPE_BUCKET_STAGING: "spe-bench-staging",
  SPE_BUCKET_OUTPUTS: "spe-bench-outputs",
  SPE_BUCKET_QUARANTINE: "spe-bench-quarantine",
  SPE_BUCKET_RELEASES: "spe-bench-releases",
  SPE_BUCKET_AUDIT_ARCHIVE: "spe-bench-audit",
  SPE_BUCKET_WORKSPACES: "spe-bench-workspaces",
  SPE_DATASET_BUCKETS: "spe-bench-datasets",
  SPE_AUDIT_KEY_ARN: "arn:aws:kms:eu-west-1:123456789012:key/bench",
  SPE_CLUSTER_ARN: "arn:aws:ecs:eu-west-1:123456789012:cluster/bench",
  SPE_TASK_DEFINITION_ARN: "arn:aws:ecs:eu-west-1:123456789012:task-definition/bench:1",
  SPE_WORKSPACE_SUBNETS: "subnet-1,subnet-2",
  SPE_WORKSPACE_SECURITY_GROUP: "sg-1",
  SPE_TASK_ROLE_BOUNDARY_ARN: "arn:aws:iam::123456789012:policy/bench",
  SPE_TASK_ROLE_PATH: "/spe/bench/",
  SPE_WORKSPACE_LOG_GROUP: "/spe/bench/workspaces",
  SPE_SCHEDULE_GROUP: "spe-bench",
  SPE_SCHEDULER_ROLE_ARN: "arn:aws:iam::123456789012:role/bench-scheduler",
  SPE_EXPIRE_FUNCTION_ARN: "arn:aws:lambda:eu-west-1:123456789012:function:bench-expire",
  SPE_PROVISION_FUNCTION_NAME: "bench-provision",
  SPE_PERMIT_KEY_PRINCIPALS: JSON.stringify({
    admins: ["arn:aws:iam::123456789012:role/spe-bench-fn-api"],
    users: ["arn:aws:iam::123456789012:role/spe-bench-fn-task-events"],
  }),
  SPE_JWT_ISSUER: "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_bench",
  SPE_JWT_JWKS_URL: "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_bench/.well-known/jwks.json",
  // The API function's console settings (ConsoleEnv).
  SPE_PLATFORM_KEY_ARN: "arn:aws:kms:eu-west-1:123456789012:key/platform",
  SPE_CONSOLE_CLIENT_ID: "console-client",
  SPE_AUTH_DOMAIN_URL: "https://spe-bench-123456789012.auth.eu-west-1.amazoncognito.com",
  SPE_CONSOLE_REDIRECT_URI: "https://a1.execute-api.eu-west-1.amazonaws.com/console/oidc/callback",
  AWS_REGION: "eu-west-1",
  AWS_ACCESS_KEY_ID: "bench",
  AWS_SECRET_ACCESS_KEY: "bench",
};

async function bundle(entry: string, outfile: string): Promise<number> {
  await build({ ...FUNCTION_BUNDLING, entryPoints: [entry], outfile, logLevel: "silent" });
  return statSync(outfile).size;
}

/** Milliseconds to import the bundle in a fresh process (median of RUNS), measured inside that process. */
function importMs(file: string): number {
  const script = `const t=performance.now();await import(${JSON.stringify(file)});process.stdout.write(String(performance.now()-t))`;
  const xs = Array.from({ length: RUNS }, () =>
    Number(
      execFileSync(process.execPath, ["--no-warnings", "--input-type=module", "-e", script], {
        env: { PATH: process.env.PATH ?? "", ...FAKE_ENV },
        encoding: "utf8",
        // A failing import prints a whole minified line: keep stderr out of the bench output.
        stdio: ["ignore", "pipe", "pipe"],
      }),
    ),
  );
  return median(xs);
}

export async function runFunctions(): Promise<void> {
  // The functions read these at cold start: a FAKE_ENV the schemas refuse would measure a crash, not an import.
  readAwsConfig(FAKE_ENV);
  readConsoleConfig(FAKE_ENV);
  const out = mkdtempSync(join(tmpdir(), "spe-bench-fn-"));
  try {
    const baselineSrc = join(out, "baseline.ts");
    writeFileSync(
      baselineSrc,
      `import { DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";\nconst db = new DynamoDBClient({});\nexport const handler = (e: { id: string }) => db.send(new GetItemCommand({ TableName: "t", Key: { pk: { S: e.id } } }));\n`,
    );
    const baselineFile = join(out, "baseline.mjs");
    // Resolved from the repo so the baseline bundles the same SDK version as the functions.
    const baselineBytes = await build({
      ...FUNCTION_BUNDLING,
      entryPoints: [baselineSrc],
      outfile: baselineFile,
      nodePaths: [join(ROOT, "node_modules")],
      logLevel: "silent",
    }).then(() => statSync(baselineFile).size);
    const baselineMs = importMs(baselineFile);
    progress(
      `baseline (DynamoDB client only): ${round(baselineBytes / 1024, 1)} KiB, import ${round(baselineMs, 1)} ms`,
    );
    const names = readdirSync(join(ROOT, "functions"))
      .filter((f) => f.endsWith(".ts"))
      .map((f) => f.slice(0, -3))
      .sort();
    for (const name of names) {
      const file = join(out, `${name}.mjs`);
      const bytes = await bundle(join(ROOT, "functions", `${name}.ts`), file);
      const ms = importMs(file);
      emit({
        bench: "functions",
        figure: "bundle",
        function: name,
        bundle_kib: round(bytes / 1024, 1),
        // What the deployment package carries (Lambda zips it): for context, the target is on the bundle itself.
        gzip_kib: round(gzipSync(readFileSync(file)).length / 1024, 1),
        cold_import_ms: round(ms, 1),
        baseline_bundle_kib: round(baselineBytes / 1024, 1),
        baseline_import_ms: round(baselineMs, 1),
        ratio_vs_baseline: round(ms / baselineMs, 2),
        target: "< 1 MB and < 300 ms",
        met: bytes < 1024 * 1024 && ms < 300,
      });
      progress(`${name}: ${round(bytes / 1024, 1)} KiB, import ${round(ms, 1)} ms`);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/**
 * How every Lambda function is bundled: one definition, used by sst.config.ts (`nodejs` function props,
 * which SST passes to esbuild) and by the bundle benchmark (bench/functions.ts), so the measured bundle is
 * the deployed one. ESM (SST v2's default), minified with names kept (readable stack traces), and
 * source maps written beside the bundle (not loaded at cold start).
 */
import { dirname, join } from "node:path";
import type { BuildOptions, Plugin } from "esbuild";

/**
 * Two substitutions that keep every bundle under 1 MB without changing behaviour on Lambda:
 * - zod's locale index (about 300 KiB of translated error messages) becomes English only: the API's
 *   messages are English, and zod's default locale `en` is imported directly by zod, not through the index.
 * - the SDK's default credential chain (SSO, profiles, IMDS, web identity, process, with their nested STS/SSO
 *   clients: about 150 KiB) becomes its first link, the environment: Lambda gives every function its role's
 *   credentials in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN.
 */
export const lambdaSlimming: Plugin = {
  name: "spe-lambda-slimming",
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (a) =>
      a.importer.includes(`${"/"}zod${"/"}`)
        ? { path: join(dirname(a.importer), "../locales/en.js"), namespace: "spe-zod-en" }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: "spe-zod-en" }, (a) => ({
      contents: `export { default as en } from ${JSON.stringify(a.path)};`,
      resolveDir: dirname(a.path),
      loader: "js",
    }));
    b.onResolve({ filter: /^@aws-sdk\/credential-provider-node$/ }, (a) => ({
      path: "credential-provider-env-only",
      namespace: "spe-credentials",
      pluginData: { resolveDir: a.resolveDir },
    }));
    b.onLoad({ filter: /.*/, namespace: "spe-credentials" }, (a) => ({
      contents: [
        `import { fromEnv } from "@aws-sdk/credential-provider-env";`,
        "export const defaultProvider = (init = {}) => fromEnv(init);",
        "export const credentialsWillNeedRefresh = () => false;",
        "export const credentialsTreatedAsExpired = () => false;",
      ].join("\n"),
      resolveDir: (a.pluginData as { resolveDir: string }).resolveDir,
      loader: "js",
    }));
  },
};

/** SST v2 `nodejs` props for `app.setDefaultFunctionProps`. */
export const SST_NODEJS = {
  format: "esm",
  minify: true,
  sourcemap: true,
  esbuild: { plugins: [lambdaSlimming] },
} as const;

/** The esbuild options SST v2 derives from SST_NODEJS (sst/runtime/handlers/node.js), for the benchmark. */
export const FUNCTION_BUNDLING: BuildOptions = {
  platform: "node",
  bundle: true,
  format: "esm",
  target: "esnext",
  mainFields: ["module", "main"],
  keepNames: true,
  minify: SST_NODEJS.minify,
  plugins: [lambdaSlimming],
  banner: {
    js: [
      `import { createRequire as topLevelCreateRequire } from 'module';`,
      "const require = topLevelCreateRequire(import.meta.url);",
      `import { fileURLToPath as topLevelFileUrlToPath, URL as topLevelURL } from "url"`,
      `const __dirname = topLevelFileUrlToPath(new topLevelURL(".", import.meta.url))`,
    ].join("\n"),
  },
};

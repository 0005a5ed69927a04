/**
 * How every Lambda function is bundled: one definition, used by sst.config.ts (`nodejs` function props,
 * which SST passes to esbuild) and by the bundle benchmark (bench/functions.ts), so the measured bundle is
 * the deployed one. ESM (SST v2's default), minified with names kept (readable stack traces), and
 * source maps written beside the bundle (not loaded at cold start).
 */
import type { BuildOptions } from "esbuild";

/** SST v2 `nodejs` props for `app.setDefaultFunctionProps`. */
export const SST_NODEJS = { format: "esm", minify: true, sourcemap: true } as const;

/** The esbuild options SST v2 derives from SST_NODEJS (sst/runtime/handlers/node.js), for the benchmark. */
export const FUNCTION_BUNDLING: BuildOptions = {
  platform: "node",
  bundle: true,
  format: "esm",
  target: "esnext",
  mainFields: ["module", "main"],
  keepNames: true,
  minify: SST_NODEJS.minify,
  banner: {
    js: [
      `import { createRequire as topLevelCreateRequire } from 'module';`,
      "const require = topLevelCreateRequire(import.meta.url);",
      `import { fileURLToPath as topLevelFileUrlToPath, URL as topLevelURL } from "url"`,
      `const __dirname = topLevelFileUrlToPath(new topLevelURL(".", import.meta.url))`,
    ].join("\n"),
  },
};

#!/usr/bin/env node
// Completes package-lock.json with the platform-specific optional packages (esbuild, rollup, biome
// binaries for other systems) that the npm mirror of this build environment does not serve: npm
// install then leaves them out of the lock, and `npm ci` refuses a lock that lacks them. Each added
// entry carries the os/cpu/libc its name declares, so `npm ci` skips it on other platforms without
// fetching anything. Idempotent; run by .ci/run and by `npm start` before `npm ci`.
// (No npm option does this; the alternative, `npm install` in CI, would not be reproducible.)
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const lockPath = join(dirname(fileURLToPath(import.meta.url)), "..", "package-lock.json");
const lock = JSON.parse(readFileSync(lockPath, "utf8"));
const pkgs = lock.packages;

const OS = ["android", "darwin", "freebsd", "linux", "win32", "openbsd", "netbsd", "sunos", "aix", "openharmony"];
const CPU = ["arm", "arm64", "x64", "ia32", "loong64", "ppc64", "riscv64", "s390x", "mips64el"];

function platformOf(name) {
  const tokens = name.split("/").pop().split("-");
  const os = tokens.find((t) => OS.includes(t));
  const cpu = tokens.find((t) => CPU.includes(t));
  if (!os || !cpu) return null;
  const tail = tokens.at(-1);
  const libc =
    os !== "linux" ? undefined : tail.startsWith("musl") ? ["musl"] : tail.startsWith("gnu") ? ["glibc"] : undefined;
  return { os: [os], cpu: [cpu], ...(libc ? { libc } : {}) };
}

/** Where npm would resolve `dep` from the package at `from` (walking up the node_modules chain). */
function resolved(from, dep) {
  for (let dir = from; ; ) {
    const candidate = `${dir ? `${dir}/` : ""}node_modules/${dep}`;
    if (pkgs[candidate]) return candidate;
    if (!dir) return null;
    const i = dir.lastIndexOf("/node_modules/");
    dir = i < 0 ? "" : dir.slice(0, i);
  }
}

let added = 0;
for (const [path, entry] of Object.entries(pkgs)) {
  for (const [dep, spec] of Object.entries(entry.optionalDependencies ?? {})) {
    if (resolved(path, dep)) continue;
    const platform = platformOf(dep);
    if (!platform || !/^\d+\.\d+\.\d+(-[\w.]+)?$/.test(spec)) {
      console.error(
        `complete-lock: ${dep}@${spec} (optional dependency of ${path || "the root"}) is missing and not a platform binary`,
      );
      process.exit(1);
    }
    const root = `node_modules/${dep}`;
    const at = pkgs[root] ? `${path}/node_modules/${dep}` : root;
    pkgs[at] = { version: spec, ...(entry.dev ? { dev: true } : {}), optional: true, ...platform };
    added++;
  }
}
if (added > 0) {
  lock.packages = Object.fromEntries(
    Object.entries(pkgs).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a < b ? -1 : 1)),
  );
  writeFileSync(lockPath, `${JSON.stringify(lock, null, 2)}\n`);
}
console.error(`complete-lock: ${added} platform package(s) added to package-lock.json`);

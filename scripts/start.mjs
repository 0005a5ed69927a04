#!/usr/bin/env node
// `npm start`: installs the dependencies on first run, then starts the single-node SPE (packages/local/src/server.ts).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 20 || (major === 20 && minor < 6)) {
  console.error(`Node.js >= 20.6 is needed (this is ${process.version}). Install a current Node.js LTS and retry.`);
  process.exit(1);
}

function nativeSqliteWorks() {
  try {
    const require = createRequire(join(root, "packages/local/package.json"));
    const Database = require("better-sqlite3");
    new Database(":memory:").close();
    return true;
  } catch {
    return false;
  }
}

if (!existsSync(join(root, "node_modules/tsx")) || !nativeSqliteWorks()) {
  const cmd = existsSync(join(root, "package-lock.json")) ? "ci" : "install";
  console.error(`First run: installing dependencies (npm ${cmd}); this takes a few minutes...`);
  if (cmd === "ci")
    spawnSync(process.execPath, [join(root, "scripts/complete-lock.mjs")], { cwd: root, stdio: "inherit" });
  const r = spawnSync("npm", [cmd, "--no-audit", "--no-fund"], { cwd: root, stdio: "inherit" });
  if (r.status !== 0 || !nativeSqliteWorks()) {
    console.error(
      "\nCould not install the dependencies. Run this and then `npm start` again:\n" +
        `  cd ${root} && npm ${cmd}\n` +
        "(better-sqlite3 compiles from source when no prebuilt binary is reachable: it needs python3, make and g++;\n" +
        " on Debian/Ubuntu: sudo apt-get install -y python3 make g++)",
    );
    process.exit(1);
  }
}

// Run the server in this process, so SIGINT/SIGTERM reach its graceful shutdown directly.
const { register } = await import("tsx/esm/api");
register();
await import(pathToFileURL(join(root, "packages/local/src/server.ts")).href);

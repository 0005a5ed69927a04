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

// Workspaces run in bubblewrap sandboxes: install it when we can, else say exactly what to run.
const which = (cmd) => spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
if ((process.env.SPE_RUNTIME ?? "bubblewrap") === "bubblewrap" && !which("bwrap")) {
  if (process.getuid?.() === 0 && which("apt-get")) {
    console.error("First run: installing bubblewrap, which isolates workspace jobs (apt-get install -y bubblewrap)...");
    spawnSync("sh", ["-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap"], {
      stdio: "inherit",
    });
  }
  if (!which("bwrap")) {
    console.error(
      "\nbubblewrap (bwrap) is needed to isolate workspace jobs. Install it and run `npm start` again:\n" +
        "  sudo apt-get install -y bubblewrap\n" +
        "(for development without isolation only: SPE_RUNTIME=unsafe-process npm start)",
    );
    process.exit(1);
  }
}

// Run the server in this process, so SIGINT/SIGTERM reach its graceful shutdown directly.
const { register } = await import("tsx/esm/api");
register();
await import(pathToFileURL(join(root, "packages/local/src/server.ts")).href);

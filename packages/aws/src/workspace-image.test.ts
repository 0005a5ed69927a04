/**
 * The workspace image cannot be built here (no Docker engine), so its Dockerfile's invariants are checked
 * by reading it: pinned bases, a non-root job user matching the agent's, the agent as entrypoint, no
 * secrets, no piped installers, and a build that needs only the agent's sources, which import nothing the
 * bundle cannot hold.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { AGENT_COMMAND, JOB_UID } from "./agent/protocol";

const repo = fileURLToPath(new URL("../../..", import.meta.url));
const dockerfile = readFileSync(join(repo, "workspace-image/Dockerfile"), "utf8");
const readme = readFileSync(join(repo, "workspace-image/README.md"), "utf8");
/** The exclude list the stacks build the image with (stacks/lib/workspace-image.ts). */
const ignoreFile = join(repo, "stacks/workspace-image.dockerignore");
const awsPackage = JSON.parse(readFileSync(join(repo, "packages/aws/package.json"), "utf8")) as {
  dependencies: Record<string, string>;
};

/** Instructions, with continuation lines joined and comments dropped. */
const instructions = dockerfile
  .replace(/\\\n/g, " ")
  .split("\n")
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith("#"));
const named = (keyword: string) => instructions.filter((l) => l.toUpperCase().startsWith(`${keyword} `));
const stages = instructions.reduce<string[][]>((acc, l) => {
  if (/^FROM /i.test(l)) acc.push([]);
  acc.at(-1)?.push(l);
  return acc;
}, []);
const finalStage = stages.at(-1)!;

describe("workspace-image/Dockerfile", () => {
  it("is multi-stage, on base images pinned by version tag (or digest), never latest", () => {
    const froms = named("FROM");
    expect(froms).toHaveLength(2);
    expect(froms[0]).toMatch(/ AS build$/i);
    for (const f of froms) {
      const image = f.split(/\s+/)[1]!;
      expect(image, f).toMatch(/^[a-z0-9./-]+(:[\w.-]*\d+\.\d+[\w.-]*)?(@sha256:[0-9a-f]{64})?$/);
      expect(image).toMatch(/:|@sha256:/);
      expect(image).not.toMatch(/:latest\b/);
    }
    expect(froms[0]).toMatch(/^FROM node:22\.\d+\.\d+-bookworm-slim /);
  });

  it("creates the job's user as uid 1000, the uid the agent switches to, and keeps the final image's user root", () => {
    expect(JOB_UID).toBe(1000);
    expect(finalStage.join("\n")).toMatch(/useradd --uid 1000 .*researcher/);
    // only the agent runs as root; it never runs the job as root (agent/run-job.ts, agent/main.ts)
    expect(named("USER").map((u) => u.split(/\s+/)[1])).toEqual(["root"]);
    expect(finalStage.join("\n")).toMatch(/-perm \/6000 -type f -exec chmod a-s/);
  });

  it("starts the agent under tini with the runtime's command as its argv", () => {
    const entry = named("ENTRYPOINT");
    expect(entry).toHaveLength(1);
    expect(JSON.parse(entry[0]!.slice("ENTRYPOINT ".length))).toEqual([
      "/usr/bin/tini",
      "-s",
      "--",
      "/usr/local/bin/node",
      "/opt/spe/agent.mjs",
    ]);
    expect(JSON.parse(named("CMD")[0]!.slice("CMD ".length))).toEqual([...AGENT_COMMAND]);
    expect(finalStage.join("\n")).toContain("COPY --from=build /out/agent.mjs /opt/spe/agent.mjs");
  });

  it("has Python and R with the common analysis packages, from Debian, without recommends", () => {
    const install = finalStage.find((l) => l.includes("apt-get install"))!;
    expect(install).toContain("--no-install-recommends");
    for (const p of ["python3-numpy", "python3-pandas", "python3-scipy", "python3-statsmodels", "r-base-core"]) {
      expect(install).toContain(p);
    }
    expect(install).toMatch(/r-cran-data\.table .*r-cran-ggplot2/);
    expect(finalStage.join("\n")).toMatch(/rm -rf \/var\/lib\/apt\/lists/);
    expect(finalStage.join("\n")).not.toMatch(/\bnpm\b|\bpip3? install\b|install\.packages/);
  });

  it("pins the agent's build dependencies to the versions packages/aws uses", () => {
    const npm = stages[0]!.find((l) => l.includes("npm install"))!;
    const pinned = [...npm.matchAll(/(@?[a-z0-9/-]+)@(\S+)/g)].map((m) => [m[1], m[2]]);
    expect(pinned.map(([n]) => n)).toEqual(["@aws-sdk/client-s3", "@aws-sdk/lib-storage", "esbuild"]);
    for (const [name, version] of pinned) expect(version, name).toMatch(/^\d+\.\d+\.\d+$/);
    expect(Object.fromEntries(pinned)["@aws-sdk/client-s3"]).toBe(awsPackage.dependencies["@aws-sdk/client-s3"]);
    expect(Object.fromEntries(pinned)["@aws-sdk/lib-storage"]).toBe(awsPackage.dependencies["@aws-sdk/lib-storage"]);
    expect(npm).toContain("--ignore-scripts");
  });

  it("holds no secret and fetches nothing to pipe into a shell", () => {
    expect(dockerfile).not.toMatch(/AKIA[0-9A-Z]{16}|aws_secret|SECRET_ACCESS|PASSWORD|BEGIN [A-Z ]*PRIVATE KEY/i);
    expect(named("ENV").join(" ")).not.toMatch(/AWS_|TOKEN|KEY/);
    expect(named("ARG")).toEqual([]);
    expect(dockerfile).not.toMatch(/(curl|wget)[^|\n]*\|\s*(ba|z)?sh/);
    expect(named("ADD")).toEqual([]);
  });

  it("copies from the build context only the agent's sources, which the README lists", () => {
    const fromContext = named("COPY").filter((c) => !c.includes("--from="));
    expect(fromContext).toEqual(["COPY packages/aws/src/agent/ ./agent/"]);
    expect(readme).toContain("`packages/aws/src/agent/`");
  });

  it.skipIf(!existsSync(ignoreFile))(
    "is built from a context the stacks' ignore file lets the agent's sources into",
    () => {
      const patterns = readFileSync(ignoreFile, "utf8")
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith("#"));
      expect(patterns[0]).toBe("*");
      expect(patterns).toContain("!packages/aws/src/agent/");
      expect(patterns).toContain("!workspace-image/");
    },
  );
});

describe("the agent's sources", () => {
  const dir = join(repo, "packages/aws/src/agent");
  const sources = readdirSync(dir).filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"));

  it("import only node builtins, the S3 client and each other, so esbuild can bundle them alone", () => {
    expect(sources).toContain("main.ts");
    for (const file of sources) {
      const text = readFileSync(join(dir, file), "utf8");
      for (const m of text.matchAll(/^\s*(?:import|export)[^"']*?from\s+["']([^"']+)["']/gm)) {
        const spec = m[1]!;
        const ok =
          spec.startsWith("node:") ||
          spec === "@aws-sdk/client-s3" ||
          spec === "@aws-sdk/lib-storage" ||
          (spec.startsWith("./") && !spec.includes(".."));
        expect(ok, `${file} imports ${spec}`).toBe(true);
      }
    }
  });
});

/**
 * The workspace image asset: workspace-image/Dockerfile built with the repository root as its context, narrowed
 * by stacks/workspace-image.dockerignore to what the build reads (the Dockerfile's directory and the agent's
 * source). Synthesis only stages that context (no Docker needed); `sst deploy` builds and pushes the image.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { IgnoreMode } from "aws-cdk-lib";
import { Platform } from "aws-cdk-lib/aws-ecr-assets";
import * as ecs from "aws-cdk-lib/aws-ecs";

/** The Dockerfile, relative to the repository root (the build context). */
export const WORKSPACE_DOCKERFILE = "workspace-image/Dockerfile";
/** The exclude list, relative to the repository root. */
export const WORKSPACE_DOCKERIGNORE = "stacks/workspace-image.dockerignore";

/** The patterns of a .dockerignore-style file: one per line, blank lines and `#` comments dropped. */
export function readIgnoreFile(path: string): string[] {
  return readFileSync(path, "utf8")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
}

/**
 * The image of the `workspace` container.
 * x86_64 (linux/amd64): the scientific Python and R stacks researchers bring code for are built and tested
 * first on x86_64, and most build machines are x86_64, so the image builds natively rather than under emulation.
 * @param root the repository root (SST's project root).
 */
export function workspaceImage(root: string): ecs.ContainerImage {
  return ecs.ContainerImage.fromAsset(root, {
    file: WORKSPACE_DOCKERFILE,
    exclude: readIgnoreFile(join(root, WORKSPACE_DOCKERIGNORE)),
    ignoreMode: IgnoreMode.DOCKER,
    platform: Platform.LINUX_AMD64,
  });
}

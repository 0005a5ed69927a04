/** The command's configuration from the environment; main() reads it once, nothing below reads process.env. */
import { resolve } from "node:path";

export const DEFAULT_URL = "http://localhost:8787";
export const DEFAULT_DATA_DIR = ".spe";

export interface Settings {
  /** `SPE_URL`. @default http://localhost:8787 */
  url: string;
  /** `SPE_TOKEN`, overridden by `--token`. */
  token: string | undefined;
  /** `SPE_DATA_DIR` resolved against the working directory. @default ./.spe */
  dataDir: string;
}

export function settingsFrom(env: Record<string, string | undefined>): Settings {
  return {
    url: env.SPE_URL || DEFAULT_URL,
    token: env.SPE_TOKEN || undefined,
    dataDir: resolve(env.SPE_DATA_DIR || DEFAULT_DATA_DIR),
  };
}

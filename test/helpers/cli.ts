/** Runs the `spe` command in-process, with its environment set for the call and restored afterwards. */
import { main } from "@spe/cli";

const ENV_KEYS = ["SPE_URL", "SPE_TOKEN", "SPE_DATA_DIR"] as const;

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `spe <args>` with SPE_URL and SPE_TOKEN as given (unset when absent) and no SPE_DATA_DIR; output captured. */
export async function spe(args: string[], env: { url?: string; token?: string } = {}): Promise<Run> {
  const saved = ENV_KEYS.map((k) => [k, process.env[k]] as const);
  const set = (k: string, v: string | undefined) => {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  };
  set("SPE_URL", env.url);
  set("SPE_TOKEN", env.token);
  set("SPE_DATA_DIR", undefined);
  const stdout: string[] = [];
  const stderr: string[] = [];
  try {
    const code = await main(args, { stdout: (t) => stdout.push(t), stderr: (t) => stderr.push(t) });
    return { code, stdout: stdout.join(""), stderr: stderr.join("") };
  } finally {
    for (const [k, v] of saved) set(k, v);
  }
}

/** Reads the JSON body of a create command from `--file` (`-` reads stdin). */
import { readFileSync } from "node:fs";
import { CliError } from "./errors";

/** @throws CliError (exit 2) when the file cannot be read or is not JSON. */
export function readJsonFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path === "-" ? 0 : path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(`cannot read ${path}: ${code === "ENOENT" ? "no such file" : (code ?? String(err))}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CliError(`${path} is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}

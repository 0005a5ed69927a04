/**
 * What kind of file an output is, by its name; `checkFile` then confirms it by content (the signature of
 * an image or PDF, text that is UTF-8 without NUL bytes). Anything not named here is blocked: the list of
 * what may leave is short on purpose.
 */
import type { FileKind } from "./types";

const TABULAR = new Set(["csv", "tsv"]);
const TEXT = new Set(["txt", "md", "json", "log"]);
const IMAGE = new Set(["png", "jpg", "jpeg"]);
const DOCUMENT = new Set(["pdf"]);
/** Data formats: they hold tables that no check here can read, so they fail as such (not as unknown). */
const DATA_FORMATS = new Set([
  "parquet",
  "feather",
  "arrow",
  "rds",
  "rdata",
  "rda",
  "sav",
  "zsav",
  "dta",
  "sas7bdat",
  "xpt",
  "sqlite",
  "sqlite3",
  "db",
  "duckdb",
  "pkl",
  "pickle",
  "npy",
  "npz",
  "h5",
  "hdf5",
  "mat",
  "avro",
  "orc",
  "xlsx",
  "xls",
  "ods",
]);

/** File signatures ("magic numbers") that an image or PDF must start with. */
export const SIGNATURES: Record<string, readonly number[]> = {
  png: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
  jpg: [0xff, 0xd8, 0xff],
  jpeg: [0xff, 0xd8, 0xff],
  pdf: [0x25, 0x50, 0x44, 0x46, 0x2d], // %PDF-
};

/** The extension of a path's last segment, lowercased; "" when it has none (or is a dot-file). */
export function extensionOf(path: string): string {
  const name = path.slice(Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\")) + 1);
  const dot = name.lastIndexOf(".");
  return dot <= 0 ? "" : name.slice(dot + 1).toLowerCase();
}

/** The kind a file's name claims. `blocked` covers archives, executables, `.svg` and every unknown type. */
export function kindByName(path: string): FileKind {
  const ext = extensionOf(path);
  if (TABULAR.has(ext)) return "tabular";
  if (TEXT.has(ext)) return "text";
  if (IMAGE.has(ext)) return "image";
  if (DOCUMENT.has(ext)) return "document";
  if (DATA_FORMATS.has(ext)) return "data_format";
  return "blocked";
}

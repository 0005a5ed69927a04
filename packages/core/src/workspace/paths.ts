/**
 * Paths inside a workspace area (`home/`, `outputs/`): relative, normalised, and unable to leave the area
 * by their spelling. Symlinks are the runtime's concern: it never follows one out of the area.
 */
import { ValidationError } from "../errors";

const MAX_PATH = 1024;
const MAX_SEGMENT_BYTES = 255;

/**
 * @returns the normalised path (`./a//b.py` → `a/b.py`).
 * @throws ValidationError `file.invalid_path` for absolute paths, `..`, NUL or control characters, empty paths.
 */
export function areaPath(raw: string, field = "path"): string {
  const bad = (why: string) =>
    new ValidationError("file.invalid_path", `invalid path: ${why}`, [{ path: field, message: why }]);
  if (raw.length === 0) throw bad("the path is empty");
  if (raw.length > MAX_PATH) throw bad(`longer than ${MAX_PATH} characters`);
  if (/[\u0000-\u001f\u007f]/.test(raw)) throw bad("NUL or control characters are not allowed");
  if (raw.startsWith("/") || raw.includes("\\")) throw bad("use a relative path with '/' separators");
  if (raw.endsWith("/")) throw bad("the path names a directory, not a file");
  const segments = raw.split("/").filter((s) => s !== "" && s !== ".");
  if (segments.includes("..")) throw bad("'..' is not allowed");
  if (segments.length === 0) throw bad("the path names no file");
  if (segments.some((s) => new TextEncoder().encode(s).byteLength > MAX_SEGMENT_BYTES)) {
    throw bad(`a path segment is longer than ${MAX_SEGMENT_BYTES} bytes`);
  }
  return segments.join("/");
}

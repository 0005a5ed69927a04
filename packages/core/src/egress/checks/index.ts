/**
 * Automated egress checks (shared/docs/egress-checks.md): `checkFile` gives each output file a verdict and
 * findings that point at rows and columns, streaming over its bytes with flat memory. Pure: the caller
 * brings the byte stream and the policy (the permit's `egress` settings, the identifier column names of its
 * datasets, and the identifier set recorded at staging).
 */
export { checkFile } from "./check-file";
export { extensionOf, kindByName, SIGNATURES } from "./file-type";
export {
  type CheckPolicy,
  type FileCheck,
  type FileKind,
  type Finding,
  RULES,
  type Rule,
  type Severity,
  worst,
} from "./types";

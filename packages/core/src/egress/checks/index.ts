/**
 * TEMPORARY: the automated disclosure checks (egress-checks.md) are being written; until they land every
 * file is sent to human review with a finding saying so. Replaced by the checker module.
 */
export type Severity = "pass" | "review" | "fail";
export interface Finding {
  rule: string;
  severity: "review" | "fail";
  location: string;
  message: string;
}
export interface CheckPolicy {
  minCellCount: number;
  roundTo?: number;
  minDegreesOfFreedom: number;
  zeros: "review" | "fail";
  identifierColumns: string[];
  knownIdentifier?: (value: string) => boolean;
  maxFindings?: number;
}
export interface FileCheck {
  verdict: Severity;
  findings: Finding[];
}
export async function checkFile(
  _path: string,
  content: AsyncIterable<Uint8Array>,
  _p: CheckPolicy,
): Promise<FileCheck> {
  for await (const _ of content);
  const message = "the automated checks are not available in this build: review the whole file by hand";
  return {
    verdict: "review",
    findings: [{ rule: "checks_unavailable", severity: "review", location: "file", message }],
  };
}

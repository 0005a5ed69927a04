/** How an audit verification reads, the same for the server's answer and an offline check. */
import { cell, time } from "./format";
import type { Verification } from "./resources";

/** `OK: N records, head <hash>, sealed through <count> at <time>` or `BROKEN at seq N: reason`. */
export function describeVerification(v: Verification): string {
  if (v.ok) {
    const sealed = v.sealed ? `sealed through ${v.sealed.count} at ${time(v.sealed.at)}` : "not sealed yet";
    return `OK: ${v.count} records, head ${cell(v.head)}, ${sealed}`;
  }
  return `BROKEN at seq ${v.brokenAt ?? v.count + 1}: ${cell(v.reason ?? "no reason given")}`;
}

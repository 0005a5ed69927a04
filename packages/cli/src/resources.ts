/**
 * The shapes of the API's responses (shared/docs/api.md): core's own types, imported as types only so the
 * CLI loads nothing of core at runtime for server commands.
 */
export type {
  AuditRecord,
  Dataset,
  Egress,
  EgressRequest,
  Job,
  JobView,
  OutputFile,
  Page,
  Permit,
  VerifyResult as Verification,
  Workspace,
} from "@spe/core";

/** An RFC 9457 problem as received: every field may be missing from a misbehaving server. */
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  code?: string;
  errors?: { path: string; message: string }[];
}

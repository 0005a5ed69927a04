/**
 * The release record of an approved request, shaped as a Five Safes RO-Crate (`ro-crate-metadata.json`,
 * JSON-LD; https://w3id.org/5s-crate): permit and purpose (safe project), requester (safe people), the
 * workspace (safe setting), the files with sizes, SHA-256 and verdicts (safe outputs), and each reviewer's
 * assessment with overrides and comments. It holds no data, so it outlives the permit's crypto-shredding.
 */
import type { PermitRecord } from "../permit/schema";
import type { EgressRequest } from "./schema";

type Node = Record<string, unknown>;

export function releaseRecord(r: EgressRequest, permit: PermitRecord | null): Node {
  const files: Node[] = r.files.map((f) => ({
    "@id": f.path,
    "@type": "File",
    name: f.path.split("/").at(-1),
    contentSize: String(f.bytes),
    sha256: f.sha256,
    additionalProperty: [
      { "@type": "PropertyValue", name: "verdict", value: f.verdict },
      ...Object.entries(
        f.findings.reduce<Record<string, number>>((acc, x) => {
          acc[`${x.severity}:${x.rule}`] = (acc[`${x.severity}:${x.rule}`] ?? 0) + 1;
          return acc;
        }, {}),
      ).map(([name, value]) => ({ "@type": "PropertyValue", name: `findings ${name}`, value })),
    ],
  }));
  const reviewers: Node[] = r.reviews.map((x) => ({
    "@id": `#person-${x.reviewer}`,
    "@type": "Person",
    identifier: x.reviewer,
  }));
  const assessments: Node[] = r.reviews.map((x, i) => ({
    "@id": `#review-${i + 1}`,
    "@type": "AssessAction",
    additionalType: x.override ? "override" : x.decision,
    name: x.decision,
    agent: { "@id": `#person-${x.reviewer}` },
    object: { "@id": "./" },
    endTime: x.at,
    actionStatus: "http://schema.org/CompletedActionStatus",
    ...(x.comment ? { description: x.comment } : {}),
  }));
  return {
    "@context": "https://w3id.org/ro/crate/1.1/context",
    "@graph": [
      {
        "@id": "ro-crate-metadata.json",
        "@type": "CreativeWork",
        conformsTo: [{ "@id": "https://w3id.org/ro/crate/1.1" }, { "@id": "https://w3id.org/5s-crate/0.4" }],
        about: { "@id": "./" },
      },
      {
        "@id": "./",
        "@type": "Dataset",
        identifier: r.id,
        name: `Output release ${r.id}`,
        description: r.justification,
        dateCreated: r.createdAt,
        datePublished: r.decidedAt,
        license: "https://ehds.example/released-under-permit",
        hasPart: r.files.map((f) => ({ "@id": f.path })),
        sourceOrganization: { "@id": "#permit" },
        mentions: [{ "@id": "#request" }, ...assessments.map((a) => ({ "@id": a["@id"] }))],
        additionalProperty: [{ "@type": "PropertyValue", name: "verdict", value: r.verdict }],
      },
      ...files,
      {
        "@id": "#permit",
        "@type": "Grant",
        identifier: r.permitId,
        name: permit?.title ?? r.permitId,
        description: permit ? `purpose: ${permit.purpose}; data user: ${permit.dataUser}` : undefined,
        funder: permit ? { "@type": "Organization", name: permit.dataUser } : undefined,
      },
      {
        "@id": "#request",
        "@type": "CreateAction",
        name: "egress request",
        agent: { "@id": `#person-${r.requester}` },
        instrument: { "@id": `#workspace-${r.workspaceId}` },
        result: r.files.map((f) => ({ "@id": f.path })),
        startTime: r.createdAt,
        endTime: r.decidedAt,
        actionStatus: "http://schema.org/CompletedActionStatus",
      },
      { "@id": `#workspace-${r.workspaceId}`, "@type": "SoftwareApplication", name: `SPE workspace ${r.workspaceId}` },
      { "@id": `#person-${r.requester}`, "@type": "Person", identifier: r.requester },
      ...reviewers.filter(
        (p, i) => reviewers.findIndex((q) => q["@id"] === p["@id"]) === i && p["@id"] !== `#person-${r.requester}`,
      ),
      ...assessments,
    ],
  };
}

/** `spe datasets list|show|create`: the datasets data holders make available. */
import type { Command } from "commander";
import { cell, fields, list, table, time } from "../format";
import { route } from "../http";
import { readJsonFile } from "../json-file";
import { fetchList, type ListOptions, printList, withListOptions } from "../listing";
import type { Dataset } from "../resources";
import { action, type CliContext } from "../session";

const datasetTable = (items: Dataset[]) =>
  table(items, [
    { header: "ID", value: (d) => d.id },
    { header: "FORMAT", value: (d) => d.format },
    { header: "HOLDER", value: (d) => d.holder },
    { header: "CREATED", value: (d) => time(d.createdAt) },
    { header: "TITLE", value: (d) => d.title },
  ]);

export const datasetDetails = (d: Dataset) =>
  fields([
    ["id", d.id],
    ["title", d.title],
    ["holder", d.holder],
    ["source", d.source],
    ["format", d.format],
    ["identifier columns", list(d.identifierColumns)],
    ["created", d.createdAt ? `${time(d.createdAt)} by ${d.createdBy ?? "-"}` : "-"],
  ]);

export function registerDatasets(program: Command, ctx: CliContext): void {
  const datasets = program.command("datasets").description("register and read datasets");

  withListOptions(datasets.command("list").description("list the datasets you may see")).action(
    action(ctx, async (s, opts: ListOptions) => {
      const page = await fetchList<Dataset>(s.api(), "/v1/datasets", {}, opts);
      printList(s, page, "datasets", datasetTable);
    }),
  );

  datasets
    .command("show")
    .description("show one dataset")
    .argument("<id>", "dataset id")
    .action(
      action(ctx, async (s, id: string) => {
        s.out.result(await s.api().get<Dataset>(route`/v1/datasets/${id}`), datasetDetails);
      }),
    );

  datasets
    .command("create")
    .description("register a dataset (admin)")
    .requiredOption("--file <path>", "the dataset as JSON (- for stdin)")
    .option("--idempotency-key <key>", "replaying the same key returns the first result")
    .addHelpText(
      "after",
      `
The file, e.g.:
  { "id": "ds-oncology-2024", "title": "Oncology registry 2024", "holder": "IPO Porto",
    "source": "file:///srv/holder/oncology", "format": "csv", "identifierColumns": ["patient_id", "nif"] }`,
    )
    .action(
      action(ctx, async (s, opts: { file: string; idempotencyKey?: string }) => {
        const body = readJsonFile(opts.file);
        const headers: Record<string, string> = opts.idempotencyKey ? { "idempotency-key": opts.idempotencyKey } : {};
        const dataset = await s.api().post<Dataset>("/v1/datasets", body, headers);
        s.out.result(dataset, (d) => `created dataset ${cell(d.id)}\n${datasetDetails(d)}`);
      }),
    );
}

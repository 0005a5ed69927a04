/** Datasets: what a data holder makes available, where it lives, and which columns identify a person. */
import { z } from "zod";
import { ResourceId, Text } from "../schema-common";

export const DATASET_FORMATS = ["csv", "tsv"] as const;

export const DatasetInput = z.strictObject({
  id: ResourceId,
  title: Text(200),
  holder: Text(200),
  source: z
    .string()
    .max(1024)
    .regex(
      /^(file:\/\/\/|s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/|$))/,
      "use file:///absolute/path or s3://bucket/prefix",
    ),
  format: z.enum(DATASET_FORMATS),
  identifierColumns: z.array(z.string().min(1).max(128)).max(64).default([]),
});
export type DatasetInput = z.infer<typeof DatasetInput>;

export const Dataset = DatasetInput.extend({
  createdAt: z.string(),
  createdBy: z.string(),
});
export type Dataset = z.infer<typeof Dataset>;

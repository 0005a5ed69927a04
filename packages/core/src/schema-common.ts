/** Small zod building blocks shared by the domain schemas. */
import { z } from "zod";

/** Identifiers chosen by admins (dataset and permit ids): letters, digits, `.`, `_`, `-`. */
export const ResourceId = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/,
    "use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit",
  );

/** A subject (user id) as it appears in the `sub` claim. */
export const Subject = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[^\s\u0000-\u001f]+$/, "no spaces or control characters");

export const Timestamp = z.iso.datetime({ offset: true }).transform((s) => new Date(s).toISOString());

/** Free text (titles, reasons): trimmed, bounded, no control or bidi-override characters. */
export const Text = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .regex(/^[^\u0000-\u001f\u007f\u202a-\u202e\u2066-\u2069]*$/, "no control or bidirectional-override characters");

export const ListParams = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(512).optional(),
});
export type ListParams = z.infer<typeof ListParams>;

export interface Page<T> {
  items: T[];
  next: string | null;
}

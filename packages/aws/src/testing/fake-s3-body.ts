/**
 * Bodies on the wire of the in-memory S3 (fake-s3.ts): reading whatever body type the SDK or lib-storage
 * sends (string, bytes, stream), answering with a chunked stream that has the SDK's helpers, and ranges.
 */
import { Readable } from "node:stream";
import { s3Error } from "./faults";

export async function bytesOf(body: unknown): Promise<Uint8Array> {
  if (body === undefined || body === null) return new Uint8Array(0);
  if (typeof body === "string") return Buffer.from(body);
  if (body instanceof Uint8Array) return new Uint8Array(body);
  if (typeof body === "object" && Symbol.asyncIterator in body) {
    const parts: Buffer[] = [];
    for await (const c of body as AsyncIterable<Uint8Array | string>) parts.push(Buffer.from(c));
    return Buffer.concat(parts);
  }
  throw new Error("FakeS3: unsupported body type");
}

/** A readable body with the SDK's stream helpers (transformToByteArray, transformToString). */
export function streamOf(bytes: Uint8Array) {
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < bytes.byteLength; i += 64 * 1024) chunks.push(bytes.subarray(i, i + 64 * 1024));
  const stream = Readable.from(chunks);
  return Object.assign(stream, {
    transformToByteArray: async () => new Uint8Array(bytes),
    transformToString: async (encoding?: BufferEncoding) => Buffer.from(bytes).toString(encoding ?? "utf8"),
    transformToWebStream: () => Readable.toWeb(Readable.from(chunks)),
  });
}

export function range(header: string | undefined, size: number): [number, number] | null {
  if (!header) return null;
  const m = /^bytes=(\d+)-(\d*)$/.exec(header);
  if (!m) throw s3Error("InvalidArgument", 400, "Invalid range");
  const start = Number(m[1]);
  const end = m[2] ? Math.min(Number(m[2]), size - 1) : size - 1;
  if (start >= size) throw s3Error("InvalidRange", 416, "The requested range is not satisfiable");
  return [start, end];
}

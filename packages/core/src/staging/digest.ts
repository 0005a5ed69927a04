/**
 * A pass-through that measures a stream: its byte count and SHA-256, for staging manifests and egress
 * snapshots, computed on the bytes as they flow to the store rather than by reading them back.
 */
import { createHash } from "node:crypto";

/** What {@link measured} found, once the stream has been read to its end. */
export interface Measurement {
  bytes: number;
  /** Lowercase hex. */
  sha256: string;
}

/** A stream to read in place of the source, and its measurement. */
export interface Measured {
  stream: AsyncGenerator<Uint8Array>;
  /** @throws Error when called before `stream` has been read to its end. */
  result(): Measurement;
}

/**
 * Wraps `source` so that reading the returned stream hashes and counts every byte on the way through.
 *
 * @example
 * const m = measured(body);
 * await objects.put(key, m.stream);
 * const { bytes, sha256 } = m.result();
 */
export function measured(source: AsyncIterable<Uint8Array>): Measured {
  const hash = createHash("sha256");
  let bytes = 0;
  let done: Measurement | null = null;
  async function* stream(): AsyncGenerator<Uint8Array> {
    for await (const piece of source) {
      hash.update(piece);
      bytes += piece.length;
      yield piece;
    }
    done = { bytes, sha256: hash.digest("hex") };
  }
  return {
    stream: stream(),
    result() {
      // A partial result would put a wrong hash in a manifest: refuse instead.
      if (done === null) throw new Error("measured(): read the stream to its end before asking for the result");
      return done;
    },
  };
}

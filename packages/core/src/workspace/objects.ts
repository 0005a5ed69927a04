/**
 * Where a workspace's encrypted objects live in the ObjectStore, and the small helpers to write and read
 * them under the permit's data key. Every object's key is also its encryption binding, so a file moved to
 * another name or permit no longer decrypts.
 */

import type { ObjectStore, PermitKeys } from "../ports";
import { decryptStream, encryptStream } from "../staging";

export const permitPrefix = (permitId: string) => `permits/${permitId}/`;
export const workspacePrefix = (permitId: string, workspaceId: string) =>
  `${permitPrefix(permitId)}workspaces/${workspaceId}/`;

export const objectKeys = (permitId: string, workspaceId: string) => {
  const base = workspacePrefix(permitId, workspaceId);
  return {
    staging: `${base}staging/`,
    stagedFile: (path: string) => `${base}staging/${path}`,
    identifiers: `${base}identifiers`,
    outputs: `${base}outputs/`,
    // Output names are whatever a job chose (newlines, `.tmp-`...): encoded so any name is a valid key.
    output: (path: string) => `${base}outputs/${path.split("/").map(encodeURIComponent).join("/")}`,
    jobLog: (jobId: string, stream: "stdout" | "stderr") => `${base}jobs/${jobId}/${stream}`,
  };
};

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

export async function collect(source: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const p of source) {
    parts.push(p);
    size += p.byteLength;
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** Encrypts and stores a stream under `key`. */
export const putEncrypted = (
  objects: ObjectStore,
  keys: PermitKeys,
  key: string,
  body: AsyncIterable<Uint8Array>,
): Promise<{ bytes: number }> => objects.put(key, encryptStream(body, keys.dataKey, key));

export const putEncryptedBytes = (objects: ObjectStore, keys: PermitKeys, key: string, bytes: Uint8Array) =>
  putEncrypted(objects, keys, key, once(bytes));

/** Streams the plaintext of an object written by `putEncrypted`. @throws IntegrityError on any tampering. */
export const getDecrypted = (objects: ObjectStore, keys: PermitKeys, key: string): AsyncIterable<Uint8Array> =>
  decryptStream(objects.get(key), keys.dataKey, key);

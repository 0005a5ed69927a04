/**
 * Chunked authenticated encryption (AES-256-GCM) of staged files, outputs and egress snapshots at rest.
 *
 * One GCM message per chunk, so a file of any size streams in bounded memory and every chunk is checked
 * before a byte of it is released. Format (integers big-endian):
 *
 *   header  = "SPE1" | version (1) | chunk size (u32) | salt (16) | binding length (u16) | binding (UTF-8)
 *   chunk i = nonce (12, random) | ciphertext | tag (16)
 *   key_file = HKDF-SHA-256(key, salt, "spe chunked v1")   -- a fresh key per file: nonces never repeat
 *                                                              across files, whatever the volume
 *   AAD_i   = SHA-256(header) | i (u64) | final (1 byte)
 *
 * Every chunk but the last holds exactly `chunk size` plaintext bytes; the last holds fewer (none when the
 * length is a multiple of the chunk size, or zero) and is the only one with final = 1. The header is
 * authenticated through every chunk's AAD, and the binding (e.g. `permit/P/workspace/W/staging/ds/a.csv`)
 * ties the ciphertext to its permit and name: a file copied elsewhere does not decrypt. Chunk indices and the
 * final flag in the AAD catch reordering, duplication and truncation at a chunk boundary; GCM's length
 * check catches a cut inside a chunk and trailing bytes.
 */
import { Buffer } from "node:buffer";
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from "node:crypto";
import { IntegrityError } from "./errors";

const MAGIC = [0x53, 0x50, 0x45, 0x31]; // "SPE1"
const VERSION = 1;
const SALT_BYTES = 16;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** Header bytes before the binding. */
const FIXED_HEADER = 4 + 1 + 4 + SALT_BYTES + 2;
const INFO = "spe chunked v1";

/** Plaintext bytes per chunk unless told otherwise: large enough that per-chunk costs vanish. */
export const DEFAULT_CHUNK_BYTES = 1024 * 1024;
/** The largest chunk size accepted, on either side: decryption buffers one chunk. */
export const MAX_CHUNK_BYTES = 16 * 1024 * 1024;
/** The longest binding accepted (UTF-8 bytes). */
export const MAX_BINDING_BYTES = 1024;

/** Source pieces from this size on are held by reference until their chunk is sealed; smaller ones are copied. */
const HOLD_BYTES = 16 * 1024;
/** Size of the buffers that small pieces are copied into. */
const GATHER_BYTES = 64 * 1024;

const encoder = new TextEncoder();

/** Options for {@link encryptStream}. */
export interface EncryptOptions {
  /** Plaintext bytes per chunk, 1 to 16 MiB. @default 1 MiB */
  chunkBytes?: number;
}

function checkKey(key: Uint8Array): void {
  if (key.length !== 32) throw new RangeError("the encryption key must be 32 bytes");
}

function encodeBinding(binding: string): Uint8Array {
  const bytes = encoder.encode(binding);
  if (bytes.length === 0 || bytes.length > MAX_BINDING_BYTES) {
    throw new RangeError(`the binding must be 1 to ${MAX_BINDING_BYTES} bytes of UTF-8`);
  }
  return bytes;
}

/** Per-file key and the constant part of every chunk's AAD. */
function fileSecrets(key: Uint8Array, salt: Uint8Array, header: Uint8Array): { fileKey: Buffer; aad: Buffer } {
  const fileKey = Buffer.from(hkdfSync("sha256", key, salt, INFO, 32));
  const aad = Buffer.alloc(32 + 8 + 1);
  createHash("sha256").update(header).digest().copy(aad, 0);
  return { fileKey, aad };
}

function setChunkAad(aad: Buffer, index: number, final: boolean): Buffer {
  aad.writeUInt32BE(Math.floor(index / 0x1_0000_0000), 32);
  aad.writeUInt32BE(index >>> 0, 36);
  aad[40] = final ? 1 : 0;
  return aad;
}

/**
 * Encrypts a byte stream under `key`, bound to `binding` (the place the file belongs: permit, workspace,
 * name). Yields the header, then each chunk's nonce, ciphertext pieces and tag as they are ready.
 *
 * Memory: one chunk of plaintext at most is held (by reference when the source yields large pieces, copied
 * together when it yields small ones), plus the source's current piece; the source must not reuse a buffer
 * it has yielded, as Node streams do not.
 *
 * @throws RangeError on a key that is not 32 bytes, an empty or over-long binding, or a bad chunk size.
 * @example
 * const sealed = encryptStream(csvBytes, permitDataKey, `permit/${permitId}/workspace/${wsId}/staging/${name}`);
 */
export async function* encryptStream(
  source: AsyncIterable<Uint8Array>,
  key: Uint8Array,
  binding: string,
  options: EncryptOptions = {},
): AsyncGenerator<Uint8Array> {
  checkKey(key);
  const bindingBytes = encodeBinding(binding);
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  if (!Number.isInteger(chunkBytes) || chunkBytes < 1 || chunkBytes > MAX_CHUNK_BYTES) {
    throw new RangeError(`chunkBytes must be an integer from 1 to ${MAX_CHUNK_BYTES}`);
  }

  const salt = randomBytes(SALT_BYTES);
  const header = Buffer.alloc(FIXED_HEADER + bindingBytes.length);
  header.set(MAGIC, 0);
  header[4] = VERSION;
  header.writeUInt32BE(chunkBytes, 5);
  salt.copy(header, 9);
  header.writeUInt16BE(bindingBytes.length, 9 + SALT_BYTES);
  header.set(bindingBytes, FIXED_HEADER);
  const { fileKey, aad } = fileSecrets(key, salt, header);
  yield header;

  // GCM wants the AAD, and so the final flag, before the first byte of plaintext; a chunk is known to be
  // non-final only once it is full. So plaintext is held until its chunk fills up or the source ends:
  // large pieces by reference (no copy), small ones copied together so that a source of 1-byte pieces does
  // not turn into a million cipher calls.
  const held: Uint8Array[] = [];
  let heldBytes = 0;
  const gatherBytes = Math.min(GATHER_BYTES, chunkBytes);
  let gather: Buffer | null = null;
  let gathered = 0;
  let index = 0;

  const flushGather = () => {
    if (gather !== null && gathered > 0) held.push(gather.subarray(0, gathered));
    gather = null;
    gathered = 0;
  };

  // Encrypts the held plaintext as chunk `index` into `ready`. The caller yields `ready` from the generator
  // body itself: `yield*` over a sync generator would cost several extra promise turns per piece.
  const ready: Uint8Array[] = [];
  const seal = (final: boolean) => {
    flushGather();
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv("aes-256-gcm", fileKey, nonce);
    cipher.setAAD(setChunkAad(aad, index, final));
    ready.push(nonce);
    for (const part of held) ready.push(cipher.update(part));
    cipher.final();
    ready.push(cipher.getAuthTag());
    held.length = 0;
    heldBytes = 0;
    index++;
  };

  for await (const piece of source) {
    let p = 0;
    while (p < piece.length) {
      const take = Math.min(piece.length - p, chunkBytes - heldBytes);
      if (take >= HOLD_BYTES) {
        flushGather();
        held.push(take === piece.length ? piece : piece.subarray(p, p + take));
      } else {
        for (let q = p; q < p + take; ) {
          gather ??= Buffer.allocUnsafe(gatherBytes);
          const n = Math.min(p + take - q, gatherBytes - gathered);
          gather.set(piece.subarray(q, q + n), gathered);
          gathered += n;
          q += n;
          if (gathered === gatherBytes) flushGather();
        }
      }
      heldBytes += take;
      p += take;
      if (heldBytes === chunkBytes) {
        seal(false);
        for (const out of ready) yield out;
        ready.length = 0;
      }
    }
  }
  seal(true);
  for (const out of ready) yield out;
}

/**
 * Decrypts what {@link encryptStream} produced, checking each chunk's tag before yielding any of its
 * plaintext. The binding must be the one the file was encrypted with.
 *
 * @throws IntegrityError (`staging.integrity`) on any alteration, truncation, reordering or duplication, on
 *   trailing bytes, on a wrong key and on a wrong binding; plaintext of earlier, intact chunks may already
 *   have been yielded, so a consumer must discard partial output when this throws.
 * @throws RangeError on a key that is not 32 bytes or an empty or over-long binding.
 */
export async function* decryptStream(
  source: AsyncIterable<Uint8Array>,
  key: Uint8Array,
  binding: string,
): AsyncGenerator<Uint8Array> {
  checkKey(key);
  const expectedBinding = encodeBinding(binding);

  // The header, read first; its size is known once its fixed part is in.
  let header: Buffer | null = null;
  let headerFill = 0;
  let record = 0; // bytes of a full (non-final) chunk record
  let fileKey: Buffer | null = null;
  let aad: Buffer | null = null;
  let buf: Buffer | null = null; // the chunk record being gathered
  let fill = 0;
  let index = 0;

  const open = (r: Uint8Array, final: boolean): Buffer => {
    const decipher = createDecipheriv("aes-256-gcm", fileKey!, r.subarray(0, NONCE_BYTES));
    decipher.setAAD(setChunkAad(aad!, index, final));
    decipher.setAuthTag(r.subarray(r.length - TAG_BYTES));
    const plain = decipher.update(r.subarray(NONCE_BYTES, r.length - TAG_BYTES));
    try {
      decipher.final();
    } catch {
      throw new IntegrityError(`staged file chunk ${index} failed authentication (altered, moved or wrong key)`);
    }
    index++;
    return plain;
  };

  for await (const piece of source) {
    let p = 0;
    if (fileKey === null) {
      // The header: its fixed part first, which gives the length of the rest.
      header ??= Buffer.alloc(FIXED_HEADER);
      while (p < piece.length && headerFill < header.length) {
        const n = Math.min(piece.length - p, header.length - headerFill);
        header.set(piece.subarray(p, p + n), headerFill);
        headerFill += n;
        p += n;
        if (headerFill === FIXED_HEADER && header.length === FIXED_HEADER) {
          const full = Buffer.alloc(FIXED_HEADER + parseFixedHeader(header));
          header.copy(full);
          header = full;
        }
      }
      if (headerFill < header.length || header.length === FIXED_HEADER) continue;
      if (!header.subarray(FIXED_HEADER).equals(expectedBinding)) {
        throw new IntegrityError("staged file header: bound to another location");
      }
      record = NONCE_BYTES + header.readUInt32BE(5) + TAG_BYTES;
      ({ fileKey, aad } = fileSecrets(key, header.subarray(9, 9 + SALT_BYTES), header));
    }
    while (p < piece.length) {
      if (fill === 0 && piece.length - p >= record) {
        // A whole record inside this piece: decrypt it in place, no copy.
        yield open(piece.subarray(p, p + record), false);
        p += record;
        continue;
      }
      buf ??= Buffer.allocUnsafe(record);
      const n = Math.min(piece.length - p, record - fill);
      buf.set(piece.subarray(p, p + n), fill);
      fill += n;
      p += n;
      if (fill === record) {
        yield open(buf, false);
        fill = 0;
      }
    }
  }
  if (fileKey === null) throw new IntegrityError("staged file header: truncated");
  // What is left is the final chunk: shorter than a full record by construction.
  if (fill < NONCE_BYTES + TAG_BYTES) {
    throw new IntegrityError(`staged file truncated: chunk ${index} (the final chunk) is missing or cut`);
  }
  const last = open(buf!.subarray(0, fill), true);
  if (last.length > 0) yield last;
}

/** Checks magic, version and chunk size; returns the binding length. */
function parseFixedHeader(h: Buffer): number {
  for (let i = 0; i < MAGIC.length; i++) {
    if (h[i] !== MAGIC[i]) throw new IntegrityError("staged file header: not an SPE1 encrypted file");
  }
  if (h[4] !== VERSION) throw new IntegrityError(`staged file header: unsupported version ${h[4]}`);
  const chunkBytes = h.readUInt32BE(5);
  if (chunkBytes < 1 || chunkBytes > MAX_CHUNK_BYTES) throw new IntegrityError("staged file header: bad chunk size");
  const bindingLength = h.readUInt16BE(9 + SALT_BYTES);
  if (bindingLength < 1 || bindingLength > MAX_BINDING_BYTES) {
    throw new IntegrityError("staged file header: bad binding length");
  }
  return bindingLength;
}

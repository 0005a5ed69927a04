/**
 * Confirms, chunk by chunk, that a file named as text is text: UTF-8 throughout and no NUL byte (a binary
 * file renamed `.csv`, a UTF-16 export). Both tests run in native code (`Buffer#indexOf`, `buffer.isUtf8`)
 * at several GB/s; a character split across two chunks is completed from the next one.
 */
import { Buffer, isUtf8 } from "node:buffer";

/** @internal */
export class TextGuard {
  /** Bytes of a character cut off at the end of the last chunk (at most 3), then its continuation. */
  #carry = new Uint8Array(4);
  #carried = 0;
  #need = 0;
  #offset = 0;
  /** What is wrong, once something is: a sentence for the finding. */
  problem: string | null = null;

  /** Checks the next chunk; false (and `problem` set) at the first NUL byte or invalid UTF-8. */
  push(chunk: Uint8Array): boolean {
    const b = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const nul = b.indexOf(0);
    if (nul >= 0) return this.#fail(`a NUL byte at byte ${this.#offset + nul + 1}`);
    let start = 0;
    if (this.#carried > 0) {
      while (this.#carried < this.#need && start < b.length) this.#carry[this.#carried++] = b[start++]!;
      if (this.#carried < this.#need) {
        this.#offset += b.length;
        return true;
      }
      if (!isUtf8(this.#carry.subarray(0, this.#need))) {
        return this.#fail(`bytes that are not UTF-8 text at byte ${this.#offset - this.#carried + start + 1}`);
      }
      this.#carried = 0;
    }
    // A lead byte among the last three whose sequence runs past the end is carried to the next chunk.
    let cut = b.length;
    for (let j = b.length - 1; j >= Math.max(start, b.length - 3); j--) {
      const x = b[j]!;
      if ((x & 0xc0) === 0x80) continue;
      if (x >= 0xc0) {
        const len = x >= 0xf0 ? 4 : x >= 0xe0 ? 3 : 2;
        if (j + len > b.length) cut = j;
      }
      break;
    }
    if (!isUtf8(b.subarray(start, cut))) return this.#fail(this.#badAt(firstInvalid(b, start, cut)));
    for (let j = cut; j < b.length; j++) this.#carry[this.#carried++] = b[j]!;
    if (this.#carried > 0) {
      const x = this.#carry[0]!;
      this.#need = x >= 0xf0 ? 4 : x >= 0xe0 ? 3 : 2;
    }
    this.#offset += b.length;
    return true;
  }

  /** False when the file ends inside a character. */
  end(): boolean {
    return this.#carried === 0 || this.#fail(`a truncated UTF-8 character at byte ${this.#offset - this.#carried + 1}`);
  }

  #badAt(from: number): string {
    return `bytes that are not UTF-8 text at byte ${this.#offset + from + 1}`;
  }

  #fail(problem: string): false {
    this.problem = problem;
    return false;
  }
}

/** Where the first byte that breaks UTF-8 is in `b[s, e)` (called once, on a range known to be invalid). */
function firstInvalid(b: Uint8Array, s: number, e: number): number {
  let i = s;
  while (i < e) {
    const x = b[i]!;
    const len = x < 0x80 ? 1 : x >= 0xc2 && x < 0xe0 ? 2 : x >= 0xe0 && x < 0xf0 ? 3 : x >= 0xf0 && x < 0xf5 ? 4 : 0;
    if (len === 0 || i + len > e || !isUtf8(b.subarray(i, i + len))) return i;
    i += len;
  }
  return s;
}

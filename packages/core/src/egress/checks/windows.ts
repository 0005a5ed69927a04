/**
 * Cuts a unit of text that is too long to hold (a CSV field or a text line of more than 1 MiB) into
 * windows that end at a separator byte (whitespace or punctuation that no e-mail address, number or date
 * contains), so that the identifier scan sees every pattern whole while memory stays at one window.
 * A run of more than 4 KiB without any separator is cut where it is.
 */

/** Bytes held before a window is handed on. */
export const WINDOW = 1 << 20;
const LOOK_BACK = 4096;

const CUT = new Uint8Array(256);
for (let b = 0; b <= 0x20; b++) CUT[b] = 1;
for (const ch of ',;"<>()[]{}|') CUT[ch.charCodeAt(0)] = 1;

/** @internal */
export class Windower {
  readonly #onWindow: (b: Uint8Array, s: number, e: number) => void;
  #buf: Uint8Array = new Uint8Array(0);
  #length = 0;

  constructor(onWindow: (b: Uint8Array, s: number, e: number) => void) {
    this.#onWindow = onWindow;
  }

  /** Adds `b[s, e)`; hands on every full window. */
  feed(b: Uint8Array, s: number, e: number): void {
    while (s < e) {
      if (this.#buf.length < WINDOW + LOOK_BACK) this.#buf = grow(this.#buf, this.#length);
      const take = Math.min(e - s, WINDOW + LOOK_BACK - this.#length);
      this.#buf.set(b.subarray(s, s + take), this.#length);
      this.#length += take;
      s += take;
      if (this.#length >= WINDOW + LOOK_BACK) this.#cut();
    }
  }

  /** Hands on what is left. */
  flush(): void {
    if (this.#length > 0) this.#onWindow(this.#buf, 0, this.#length);
    this.#length = 0;
  }

  #cut(): void {
    let cut = WINDOW;
    while (cut > WINDOW - LOOK_BACK && CUT[this.#buf[cut - 1]!] === 0) cut--;
    if (cut === WINDOW - LOOK_BACK) cut = WINDOW;
    this.#onWindow(this.#buf, 0, cut);
    this.#buf.copyWithin(0, cut, this.#length);
    this.#length -= cut;
  }
}

function grow(buf: Uint8Array, length: number): Uint8Array {
  const grown = new Uint8Array(WINDOW + LOOK_BACK);
  grown.set(buf.subarray(0, length));
  return grown;
}

/** Clock and id generator of a deployment (a node or a Lambda function). */
import { randomBytes } from "node:crypto";
import type { Clock, Ids } from "./ports";

export const systemClock: Clock = { now: () => new Date() };

const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"; // Crockford base32, lowercase

/** `<prefix>-<time, 10 chars><random, 12 chars>`: unique, sortable by creation time, unguessable enough. */
export const randomIds: Ids = {
  next(prefix) {
    let t = Date.now();
    let time = "";
    for (let i = 0; i < 10; i++) {
      time = ALPHABET[t % 32] + time;
      t = Math.floor(t / 32);
    }
    const rand = Array.from(randomBytes(12), (b) => ALPHABET[b % 32]).join("");
    return `${prefix}-${time}${rand}`;
  },
};

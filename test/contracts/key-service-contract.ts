/**
 * The KeyService port's contract: what core relies on from every key service (the local wrapped keys on
 * one node, KMS on AWS). Each adapter's test file calls `describeKeyServiceContract` with a factory.
 */
import type { KeyService } from "@spe/core";
import { afterEach, describe, expect, it } from "vitest";

export interface KeyServiceSubject {
  keys: KeyService;
  cleanup?: () => void | Promise<void>;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

export function describeKeyServiceContract(
  name: string,
  make: () => KeyServiceSubject | Promise<KeyServiceSubject>,
): void {
  describe(`KeyService contract: ${name}`, () => {
    let subject: KeyServiceSubject | undefined;
    const open = async () => {
      subject = await make();
      return subject.keys;
    };
    afterEach(async () => {
      await subject?.cleanup?.();
      subject = undefined;
    });

    it("creates a permit's keys once: 32-byte data and pseudonym keys, distinct, stable across calls", async () => {
      const keys = await open();
      await keys.createPermitKey("pmt-1");
      const first = await keys.permitKeys("pmt-1");
      expect(first.dataKey.byteLength).toBe(32);
      expect(first.pseudonymKey.byteLength).toBe(32);
      expect(hex(first.dataKey)).not.toBe(hex(first.pseudonymKey));
      await keys.createPermitKey("pmt-1"); // idempotent: the keys do not change
      const again = await keys.permitKeys("pmt-1");
      expect(hex(again.dataKey)).toBe(hex(first.dataKey));
      expect(hex(again.pseudonymKey)).toBe(hex(first.pseudonymKey));
    });

    it("agrees on one pair of keys when two creations race", async () => {
      const keys = await open();
      await Promise.all([keys.createPermitKey("pmt-race"), keys.createPermitKey("pmt-race")]);
      const [a, b] = await Promise.all([keys.permitKeys("pmt-race"), keys.permitKeys("pmt-race")]);
      expect(hex(a.dataKey)).toBe(hex(b.dataKey));
      expect(hex(a.pseudonymKey)).toBe(hex(b.pseudonymKey));
    });

    it("gives each permit its own keys", async () => {
      const keys = await open();
      await keys.createPermitKey("pmt-a");
      await keys.createPermitKey("pmt-b");
      const [a, b] = await Promise.all([keys.permitKeys("pmt-a"), keys.permitKeys("pmt-b")]);
      expect(hex(a.dataKey)).not.toBe(hex(b.dataKey));
      expect(hex(a.pseudonymKey)).not.toBe(hex(b.pseudonymKey));
    });

    it("answers permit.key_missing for a permit whose keys were never created", async () => {
      const keys = await open();
      await expect(keys.permitKeys("pmt-never")).rejects.toMatchObject({
        kind: "unavailable",
        code: "permit.key_missing",
      });
    });

    it("destroys the keys for good: key_destroyed afterwards, a second destruction returns false", async () => {
      const keys = await open();
      await keys.createPermitKey("pmt-gone");
      await keys.createPermitKey("pmt-kept");
      const kept = await keys.permitKeys("pmt-kept");
      expect(await keys.destroyPermitKey("pmt-gone")).toBe(true);
      await expect(keys.permitKeys("pmt-gone")).rejects.toMatchObject({
        kind: "conflict",
        code: "permit.key_destroyed",
      });
      expect(await keys.destroyPermitKey("pmt-gone")).toBe(false);
      // Re-creating cannot bring a destroyed permit's keys back, nor make new ones for it.
      await expect(keys.createPermitKey("pmt-gone")).rejects.toMatchObject({ code: "permit.key_destroyed" });
      await expect(keys.permitKeys("pmt-gone")).rejects.toMatchObject({ code: "permit.key_destroyed" });
      // Another permit is untouched.
      expect(hex((await keys.permitKeys("pmt-kept")).dataKey)).toBe(hex(kept.dataKey));
    });

    it("destroying a permit that never had keys returns false, and refuses keys for it afterwards", async () => {
      const keys = await open();
      expect(await keys.destroyPermitKey("pmt-empty")).toBe(false);
      await expect(keys.permitKeys("pmt-empty")).rejects.toMatchObject({ code: "permit.key_destroyed" });
      await expect(keys.createPermitKey("pmt-empty")).rejects.toMatchObject({ code: "permit.key_destroyed" });
    });
  });
}

/** The building blocks: the pattern scan, the answer cache, the text guard and the CSV tokenizer. */
import { describe, expect, it } from "vitest";
import { CsvReader } from "./csv-reader";
import { KnownValues } from "./known-values";
import { DATE, EMAIL, NIF, NINE, newCounts, POSTCODE, scanPatterns, validNif } from "./patterns";
import { enc, rng } from "./test-support";
import { TextGuard } from "./text-guard";

describe("scanPatterns", () => {
  it("agrees with the NIF definition on 20,000 random 9-digit numbers", () => {
    const next = rng(7);
    for (let k = 0; k < 20_000; k++) {
      const digits = String(Math.floor(next() * 1e9)).padStart(9, "0");
      const d = [...digits].map(Number);
      const sum = d.slice(0, 8).reduce((s, x, i) => s + x * (9 - i), 0);
      const check = 11 - (sum % 11) >= 10 ? 0 : 11 - (sum % 11);
      const expected = [1, 2, 3, 5, 6, 8, 9].includes(d[0]!) && check === d[8];
      expect(validNif(enc.encode(digits), 0), digits).toBe(expected);
    }
  });

  it("counts several patterns in one range and nothing in plain text", () => {
    const counts = newCounts();
    const b = enc.encode("a@b.pt, 2024-01-31 and 4000-123; 136695974 c@d.com");
    expect(scanPatterns(b, 0, b.length, counts)).toBe(5);
    expect([counts[EMAIL], counts[DATE], counts[POSTCODE], counts[NINE], counts[NIF]]).toEqual([2, 1, 1, 1, 0]);
    const plain = enc.encode("Área Metropolitana de Lisboa, 40-49, C50.9");
    expect(scanPatterns(plain, 0, plain.length, newCounts())).toBe(0);
  });
});

describe("KnownValues", () => {
  it("answers exactly as the lookup does, over short, long and colliding values, across clears", () => {
    const next = rng(3);
    const truth = new Set<string>();
    let asked = 0;
    const known = new KnownValues((b, s, e) => {
      asked++;
      return truth.has(Buffer.from(b.subarray(s, e)).toString("utf8"));
    }, 64);
    const values = Array.from({ length: 400 }, (_, i) => {
      const len = 1 + Math.floor(next() * 90);
      return `${i}:${"é".repeat(len % 5)}${"x".repeat(len)}`.slice(0, 1 + (i % 70));
    });
    for (const v of values) if (next() < 0.3) truth.add(v);
    for (let round = 0; round < 5; round++) {
      for (const v of values) {
        const b = enc.encode(`  ${v}  `);
        expect(known.has(b, 2, b.length - 2), v).toBe(truth.has(v));
      }
    }
    expect(asked).toBeGreaterThan(values.length); // capacity 64: it was cleared and asked again
    const once = new KnownValues(() => false);
    const b = enc.encode("PT-1 PT-1 PT-1");
    for (let i = 0; i < 3; i++) once.has(b, i * 5, i * 5 + 4);
    expect(once.lookups).toBe(1);
  });

  it("hands the lookup a string through KnownValues.of", () => {
    const seen: string[] = [];
    const known = KnownValues.of((v) => {
      seen.push(v);
      return v === "São Miguel";
    });
    const b = enc.encode("São Miguel");
    expect(known.has(b, 0, b.length)).toBe(true);
    expect(seen).toEqual(["São Miguel"]);
  });
});

describe("TextGuard", () => {
  it("accepts UTF-8 cut anywhere and reports the first bad byte by its position in the file", () => {
    const text = enc.encode("olá 🌊 açores");
    for (let cut = 0; cut <= text.length; cut++) {
      const g = new TextGuard();
      expect(g.push(text.subarray(0, cut)) && g.push(text.subarray(cut)) && g.end(), `cut ${cut}`).toBe(true);
    }
    const g = new TextGuard();
    expect(g.push(enc.encode("abc")) && g.push(new Uint8Array([0x64, 0xe9, 0x20]))).toBe(false);
    expect(g.problem).toBe("bytes that are not UTF-8 text at byte 5");
  });
});

describe("CsvReader", () => {
  it("hands over the same fields and rows whatever the chunk boundaries, and fields longer than its window", () => {
    // Flags (>> 8): 1 quoted, 2 irregular (escaped quotes), 4 unterminated.
    const long = "y".repeat(3 * 1024 * 1024);
    const input = enc.encode(`a,"b,""c""\n",d\r\n\n"${long}",e,\n"unclosed`);
    const read = (chunk: number) => {
      const out: string[] = [];
      let field: number[] = [];
      const reader = new CsvReader(
        {
          field: (b, s, e, flags) => {
            // LONG (bit 11) depends on the chunks: a field inside one chunk is handed over whole.
            out.push(`${Buffer.from([...field, ...b.subarray(s, e)]).toString("utf8").length}:${(flags >> 8) & ~8}`);
            field = [];
          },
          longPiece: (b, s, e) => {
            field.push(...b.subarray(s, Math.min(e, s + 10)));
            for (let i = s + 10; i < e; i++) field.push(0x79);
          },
          endRow: () => out.push("|"),
        },
        0x2c,
      );
      for (let p = 0; p < input.length; p += chunk) reader.push(input.subarray(p, p + chunk));
      reader.end();
      return out;
    };
    const expected = ["1:0", "10:3", "1:0", "|", "0:0", "|", `${long.length + 2}:1`, "1:0", "0:0", "|", "9:5", "|"];
    for (const chunk of [1, 3, 64 * 1024, input.length]) expect(read(chunk), `chunk ${chunk}`).toEqual(expected);
  }, 20_000);
});

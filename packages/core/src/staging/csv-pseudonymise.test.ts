import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { mulberry32 as rng } from "../prng";
import { CsvPseudonymiser, type PseudonymiseCsvOptions, pseudonymiseCsv } from "./csv-pseudonymise";
import { Pseudonymiser } from "./pseudonym";
import { collect, whole } from "./test-streams";

const KEY = randomBytes(32);
const pseudonymiser = new Pseudonymiser(KEY);
const ps = (v: string) => pseudonymiser.pseudonym(v);
const enc = new TextEncoder();

/** Yields `bytes` in pieces of 1 to `max` bytes. */
async function* split(bytes: Uint8Array, seed: number, max = 9): AsyncGenerator<Uint8Array> {
  const next = rng(seed);
  for (let p = 0; p < bytes.length; ) {
    const n = 1 + Math.floor(next() * max);
    yield bytes.slice(p, p + n);
    p += n;
  }
}

type Opts = Omit<PseudonymiseCsvOptions, "pseudonymiser"> & { pseudonymiser?: Pseudonymiser };
const withDefaults = (o: Opts): PseudonymiseCsvOptions => ({ pseudonymiser, ...o });

/** Runs the scanner over `input` whole and under several random splits; all must agree. Returns the text. */
async function run(input: string | Uint8Array, options: Opts): Promise<string> {
  const bytes = typeof input === "string" ? enc.encode(input) : input;
  const out = await collect(pseudonymiseCsv(whole(bytes), withDefaults(options)));
  for (let seed = 1; seed <= 4; seed++) {
    const again = await collect(pseudonymiseCsv(split(bytes, seed, seed === 1 ? 1 : 9), withDefaults(options)));
    expect(again.equals(out), `split ${seed}`).toBe(true);
  }
  return out.toString("utf8");
}

describe("pseudonymiseCsv", () => {
  it("replaces the identifier column and passes every other byte through", async () => {
    const out = await run("id,name,age\nPT1,Ann,34\nPT2,Bob,51\n", { identifierColumns: ["id"] });
    expect(out).toBe(`id,name,age\n${ps("PT1")},Ann,34\n${ps("PT2")},Bob,51\n`);
  });

  it("replaces several identifier columns wherever they are", async () => {
    const out = await run("a,patient,b,ssn\n1,PT1,2,S-9\n3,PT2,4,S-8\n", { identifierColumns: ["ssn", "patient"] });
    expect(out).toBe(`a,patient,b,ssn\n1,${ps("PT1")},2,${ps("S-9")}\n3,${ps("PT2")},4,${ps("S-8")}\n`);
  });

  it("keeps quoted commas, embedded line breaks and escaped quotes in other columns untouched", async () => {
    const csv = 'id,note\nPT1,"a, b"\nPT2,"line1\nline2\r\nline3"\nPT3,"say ""hi"", ok"\n';
    const out = await run(csv, { identifierColumns: ["id"] });
    expect(out).toBe(
      `id,note\n${ps("PT1")},"a, b"\n${ps("PT2")},"line1\nline2\r\nline3"\n${ps("PT3")},"say ""hi"", ok"\n`,
    );
  });

  it("unquotes and unescapes an identifier before hashing, so quoted and bare values agree", async () => {
    const csv = 'id,x\n"PT1",1\nPT1,2\n"P,T\n""1""",3\n" PT1 ",4\n';
    const out = await run(csv, { identifierColumns: ["id"] });
    expect(out).toBe(`id,x\n${ps("PT1")},1\n${ps("PT1")},2\n${ps('P,T\n"1"')},3\n${ps("PT1")},4\n`);
  });

  it("keeps a UTF-8 BOM and finds the first column behind it", async () => {
    const out = await run("\ufeffid;name\r\nPT1;Ann\r\n", { identifierColumns: ["id"] });
    expect(out).toBe(`\ufeffid;name\r\n${ps("PT1")};Ann\r\n`);
  });

  it("detects ; and tab delimiters from the header, and honours a given one", async () => {
    expect(await run("name;id\nAnn;PT1\n", { identifierColumns: ["id"] })).toBe(`name;id\nAnn;${ps("PT1")}\n`);
    expect(await run("name\tid\nAnn, Jr\tPT1\n", { identifierColumns: ["id"] })).toBe(
      `name\tid\nAnn, Jr\t${ps("PT1")}\n`,
    );
    // A header that would be detected as `,` but the caller knows better.
    expect(await run("id\tnote, x\nPT1\ta,b\n", { identifierColumns: ["id"], delimiter: "\t" })).toBe(
      `id\tnote, x\n${ps("PT1")}\ta,b\n`,
    );
  });

  it("handles CRLF, a lone CR and a last line without a line end", async () => {
    expect(await run("id,x\r\nPT1,1\r\nPT2,2", { identifierColumns: ["id"] })).toBe(
      `id,x\r\n${ps("PT1")},1\r\n${ps("PT2")},2`,
    );
    expect(await run("x,id\rA,PT1\rB,PT2", { identifierColumns: ["id"] })).toBe(`x,id\rA,${ps("PT1")}\rB,${ps("PT2")}`);
    expect(await run('x,id\n1,"PT3"', { identifierColumns: ["id"] })).toBe(`x,id\n1,${ps("PT3")}`);
  });

  it("passes ragged rows through, replacing identifiers where the row has them", async () => {
    const csv = "a,id,b\n1\n2,PT1\n3,PT2,x,extra,PT9\n\n4,,y\n";
    const out = await run(csv, { identifierColumns: ["id"] });
    expect(out).toBe(`a,id,b\n1\n2,${ps("PT1")}\n3,${ps("PT2")},x,extra,PT9\n\n4,,y\n`);
  });

  it("leaves empty and blank identifier fields as they are", async () => {
    expect(await run('id,x\n,1\n"",2\n  ,3\n', { identifierColumns: ["id"] })).toBe('id,x\n,1\n"",2\n  ,3\n');
  });

  it("finds columns by trimmed, quoted header names", async () => {
    const out = await run('" patient id ", name\nPT1, Ann\n', { identifierColumns: ["patient id"] });
    expect(out).toBe(`" patient id ", name\n${ps("PT1")}, Ann\n`);
  });

  it("passes a header-only file (with or without a line end) through unchanged", async () => {
    expect(await run("id,name", { identifierColumns: ["id"] })).toBe("id,name");
    expect(await run("id,name\r\n", { identifierColumns: ["id"] })).toBe("id,name\r\n");
  });

  it("yields nothing for an empty source", async () => {
    expect(
      (await collect(pseudonymiseCsv(whole(new Uint8Array(0)), withDefaults({ identifierColumns: ["id"] })))).length,
    ).toBe(0);
  });

  it("refuses a declared identifier column missing from the header, naming the column only", async () => {
    const source = whole(enc.encode("id,name\nPT-SECRET,Ann\n"));
    const err = await collect(pseudonymiseCsv(source, withDefaults({ identifierColumns: ["id", "ssn"] }))).catch(
      (e) => e,
    );
    expect(err).toMatchObject({ kind: "validation", code: "staging.identifier_column_missing" });
    expect(err.message).toMatch(/"ssn"/);
    expect(err.message).not.toMatch(/PT-SECRET/);
  });

  it("streams a single 10 MB line in bounded chunks", async () => {
    const big = "x".repeat(10 * 1024 * 1024);
    const csv = enc.encode(`id,blob,id2\nPT1,${big},"PT2"\nPT3,small,${"Q".repeat(3 * 1024 * 1024)}\n`);
    const pieces: Uint8Array[] = [];
    for (let p = 0; p < csv.length; p += 64 * 1024) pieces.push(csv.subarray(p, p + 64 * 1024));
    const scanner = new CsvPseudonymiser(withDefaults({ identifierColumns: ["id", "id2"] }));
    let largest = 0;
    const out: Uint8Array[] = [];
    for (const piece of pieces) {
      const o = scanner.push(piece);
      if (o) {
        largest = Math.max(largest, o.length);
        out.push(o);
      }
    }
    const tail = scanner.end();
    if (tail) out.push(tail);
    // Output pieces stay chunk-sized except where a 3 MB identifier had to be buffered whole.
    const text = Buffer.concat(out).toString("latin1");
    expect(text).toBe(
      `id,blob,id2\n${ps("PT1")},${big},${ps("PT2")}\n${ps("PT3")},small,${ps("Q".repeat(3 * 1024 * 1024))}\n`,
    );
    expect(largest).toBeLessThan(128 * 1024);
  });

  it("refuses to buffer an identifier field longer than 32 MiB", async () => {
    const huge = new Uint8Array(33 * 1024 * 1024).fill(0x51);
    async function* source() {
      yield enc.encode("id,x\n");
      for (let p = 0; p < huge.length; p += 1024 * 1024) yield huge.subarray(p, p + 1024 * 1024);
      yield enc.encode(",1\n");
    }
    const err = await collect(pseudonymiseCsv(source(), withDefaults({ identifierColumns: ["id"] }))).catch((e) => e);
    expect(err).toMatchObject({ kind: "validation", code: "staging.csv_field_too_long" });
  });

  it("calls onIdentifier with every distinct non-empty original and its pseudonym, skipping cached repeats", async () => {
    const seen: [string, string][] = [];
    const csv = 'id,x\nPT1,1\n,2\n"P""2",3\nPT1,4\n';
    await collect(
      pseudonymiseCsv(split(enc.encode(csv), 3), {
        identifierColumns: ["id"],
        // Fresh: a pseudonymiser reports each value the first time *it* meets one.
        pseudonymiser: new Pseudonymiser(KEY),
        onIdentifier: (o, p) => seen.push([Buffer.from(o).toString("utf8"), p]),
      }),
    );
    expect(seen).toEqual([
      ["PT1", ps("PT1")],
      ['P"2', ps('P"2')],
    ]);
  });

  it("leaves no original identifier value anywhere in the output of a random file", async () => {
    const next = rng(42);
    const ids = Array.from({ length: 200 }, (_, i) => `PAT${100000 + i}X`);
    let csv = "\ufeffvisit,patient_id,note,ssn\r\n";
    for (let r = 0; r < 3000; r++) {
      const id = ids[Math.floor(next() * ids.length)]!;
      const quoted = next() < 0.3;
      csv += `${r},${quoted ? `"${id}"` : id},"n, ""${r}""\nmore",SSN-${id}\r\n`;
    }
    const bytes = enc.encode(csv);
    const out = await collect(
      pseudonymiseCsv(split(bytes, 7, 200), withDefaults({ identifierColumns: ["patient_id", "ssn"] })),
    );
    for (const id of ids) {
      expect(out.includes(id)).toBe(false);
    }
    expect(out.toString("utf8").split("\r\n").length).toBe(csv.split("\r\n").length);
  });

  it("agrees with a reference parser on random well-formed CSV under any split", async () => {
    const next = rng(9);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)]!;
    for (let file = 0; file < 40; file++) {
      const d = pick([",", ";", "\t"] as const);
      const eol = pick(["\n", "\r\n"]);
      const cols = 1 + Math.floor(next() * 5);
      const names = Array.from({ length: cols }, (_, i) => `c${i}`);
      const idCols = names.filter(() => next() < 0.5);
      const rows: string[][] = [];
      for (let r = 0; r < 30; r++) {
        const n = next() < 0.1 ? Math.floor(next() * (cols + 2)) : cols;
        rows.push(
          Array.from({ length: n }, () => pick(["", "PT1", " v ", "a b", 'q"x', "x\ny", `a${d}b`, "é", "P\r\n2"])),
        );
      }
      rows.push(["last"]); // an empty last row and a missing last line end would look alike
      const quote = (v: string) => (/[",;\t\r\n]/.test(v) || next() < 0.2 ? `"${v.replaceAll('"', '""')}"` : v);
      const csv = [names.join(d), ...rows.map((r) => r.map(quote).join(d))].join(eol) + (next() < 0.5 ? eol : "");
      const out = await run(csv, { identifierColumns: idCols, delimiter: d });
      const fields = parse(out, d);
      expect(fields.length).toBe(rows.length + 1);
      rows.forEach((row, r) => {
        expect(fields[r + 1]!.length).toBe(Math.max(row.length, 1));
        row.forEach((v, i) => {
          const id = idCols.includes(names[i] ?? "") && v.trim() !== "";
          expect(fields[r + 1]![i]).toBe(id ? ps(v) : v);
        });
      });
    }
  });
});

/** A slow, string-based RFC 4180 parser for the tests: rows of unquoted field values. */
function parse(text: string, d: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let i = 0;
  while (i <= text.length) {
    let value = "";
    if (text[i] === '"') {
      i++;
      for (;;) {
        if (text[i] === '"' && text[i + 1] === '"') {
          value += '"';
          i += 2;
        } else if (text[i] === '"') {
          i++;
          break;
        } else value += text[i++];
      }
    } else {
      while (i < text.length && text[i] !== d && text[i] !== "\n" && text[i] !== "\r") value += text[i++];
    }
    row.push(value);
    if (text[i] === d) {
      i++;
      continue;
    }
    rows.push(row);
    row = [];
    if (text[i] === "\r") i++;
    if (text[i] === "\n") i++;
    if (i >= text.length) break;
  }
  return rows;
}

/** Reading snapshots for display, and pointing findings at the cells the checks meant. */
import { describe, expect, it } from "vitest";
import { checkFile } from "./checks/check-file";
import { enc, POLICY, whole } from "./checks/test-support";
import { locateFinding } from "./finding-location";
import { readLines, readTable } from "./table-view";

describe("readTable", () => {
  it("unquotes fields, keeps line breaks inside quotes, skips blank lines, strips a BOM", () => {
    const t = readTable(enc.encode('\ufeffname,"n"\n\n"a ""x"", b",25\n"multi\nline",30\n'), "t.csv");
    expect(t.header).toEqual(["name", "n"]);
    expect(t.rows).toEqual([
      ['a "x", b', "25"],
      ["multi\nline", "30"],
    ]);
    expect(t.more).toBe(false);
  });

  it("detects ; and tab delimiters as the checks do, and stops after maxRows", () => {
    expect(readTable(enc.encode("a;b\n1;2\n"), "t.csv").rows).toEqual([["1", "2"]]);
    expect(readTable(enc.encode("a,b\t\n1,2\t3\n"), "t.tsv").rows).toEqual([["1,2", "3"]]);
    const big = `g,n\n${Array.from({ length: 50 }, (_, i) => `x${i},${i + 20}`).join("\n")}\n`;
    const t = readTable(enc.encode(big), "t.csv", 10);
    expect(t.rows).toHaveLength(10);
    expect(t.rows[9]).toEqual(["x9", "29"]);
    expect(t.more).toBe(true);
  });

  it("keeps only the first maxCols fields of a wide row, counts them all, and cuts long cells", () => {
    const wide = `a,b\n${Array.from({ length: 20_000 }, (_, i) => i).join(",")}\n1,${"x".repeat(50)}\n`;
    const t = readTable(enc.encode(wide), "t.csv", 1000, 10, 200);
    expect(t.columns).toBe(20_000);
    expect(t.rows[0]).toHaveLength(200);
    expect(t.rows[0]?.[199]).toBe("199");
    expect(t.rows[1]).toEqual(["1", `${"x".repeat(10)}…`]);
    expect(readTable(enc.encode("a,b,c\n1,2\n"), "t.csv").columns).toBe(3);
  });

  it("points each finding of the checks at the cell, column or row it is about", async () => {
    const content = 'group, n ,max_age\n\na,25,80\n"b\nb",4,71\nc,0,60\n';
    const result = await checkFile("t.csv", whole(enc.encode(content)), POLICY);
    const t = readTable(enc.encode(content), "t.csv");
    const places = result.findings.map((f) => [f.rule, locateFinding(f.location, t.headerTrimmed)]);
    expect(places).toContainEqual(["min_cell_count", { kind: "cell", row: 2, col: 1 }]);
    expect(places).toContainEqual(["zero_cell", { kind: "cell", row: 3, col: 1 }]);
    expect(places).toContainEqual(["extreme_values", { kind: "column", col: 2 }]);
    // Row 2 is the quoted two-line label, counted once, after the skipped blank line.
    expect(t.rows[1]).toEqual(["b\nb", "4", "71"]);
  });
});

describe("locateFinding", () => {
  it("reads every location form the checks write", () => {
    const header = ["group", "", "x".repeat(70)];
    expect(locateFinding("row 3, column group", header)).toEqual({ kind: "cell", row: 3, col: 0 });
    expect(locateFinding("row 3, column #2", header)).toEqual({ kind: "cell", row: 3, col: 1 });
    expect(locateFinding(`column ${"x".repeat(57)}...`, header)).toEqual({ kind: "column", col: 2 });
    expect(locateFinding("row 7", header)).toEqual({ kind: "row", row: 7 });
    expect(locateFinding("line 12")).toEqual({ kind: "lines", from: 12, to: 12 });
    expect(locateFinding("lines 4-9")).toEqual({ kind: "lines", from: 4, to: 9 });
    expect(locateFinding("file")).toEqual({ kind: "file" });
    expect(locateFinding("12 more locations")).toEqual({ kind: "file" });
    expect(locateFinding("column nosuch", header)).toEqual({ kind: "file" });
  });
});

describe("readLines", () => {
  it("numbers lines as the checks do (LF, CR dropped) and stops after maxLines", () => {
    expect(readLines(enc.encode("a\r\n\nb\n"))).toEqual({ lines: ["a", "", "b"], more: false });
    expect(readLines(enc.encode("1\n2\n3\n"), 2)).toEqual({ lines: ["1", "2"], more: true });
    expect(readLines(enc.encode("1\n2\n"), 2)).toEqual({ lines: ["1", "2"], more: false });
    expect(readLines(enc.encode("a\nb"))).toEqual({ lines: ["a", "b"], more: false });
  });

  it("cuts a long line, decoding only its start, so a 10 MB one-line file yields a short string", () => {
    const big = new Uint8Array(10 * 1024 * 1024).fill(0x78);
    big[big.length - 1] = 0x0a;
    const started = performance.now();
    const { lines, more } = readLines(big, 5000, 2000);
    expect(performance.now() - started).toBeLessThan(200);
    expect(lines).toEqual([`${"x".repeat(2000)}…`]);
    expect(more).toBe(false);
    expect(readLines(enc.encode(`é${"é".repeat(9)}\r\nshort`), 10, 5).lines).toEqual(["ééééé…", "short"]);
  });
});

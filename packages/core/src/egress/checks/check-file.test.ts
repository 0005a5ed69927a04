/** File types and content sniffing, CSV parsing edge cases, text files, and what checkFile reads. */
import { describe, expect, it } from "vitest";
import { checkFile } from "./check-file";
import { check, csv, enc, POLICY, summary } from "./test-support";
import { worst } from "./types";

const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** A source that records how much of it was read and whether it was closed. */
function tracked(chunks: Uint8Array[]) {
  const state = { read: 0, closed: false };
  const source: AsyncIterable<Uint8Array> = {
    [Symbol.asyncIterator]() {
      let i = 0;
      return {
        async next() {
          if (i >= chunks.length) return { done: true, value: undefined };
          state.read++;
          return { done: false, value: chunks[i++]! };
        },
        async return() {
          state.closed = true;
          return { done: true, value: undefined };
        },
      };
    },
  };
  return { source, state };
}

describe("worst", () => {
  it("orders pass < review < fail, and is pass for nothing", () => {
    expect(worst()).toBe("pass");
    expect(worst("pass", "review")).toBe("review");
    expect(worst("review", "fail", "pass")).toBe("fail");
  });
});

describe("file types", () => {
  it("fails data formats, whatever the case of the extension", async () => {
    for (const name of [
      "t.parquet",
      "t.feather",
      "t.RDS",
      "t.RData",
      "t.sav",
      "t.dta",
      "t.sqlite",
      "t.db",
      "t.pkl",
      "t.npy",
    ]) {
      const r = await check(`outputs/${name}`, "whatever");
      expect(r, name).toMatchObject({ verdict: "fail", kind: "data_format" });
      expect(summary(r)).toEqual(["data_format fail @ file"]);
    }
  });

  it("blocks archives, executables, svg, unknown types and names without an extension", async () => {
    for (const name of [
      "t.zip",
      "t.gz",
      "t.csv.gz",
      "t.tar",
      "t.7z",
      "t.exe",
      "t.so",
      "fig.svg",
      "t.html",
      "README",
      ".csv",
    ]) {
      const r = await check(`outputs/${name}`, "a,b\n1,2\n");
      expect(r, name).toMatchObject({ verdict: "fail", kind: "blocked" });
      expect(summary(r)).toEqual(["blocked_type fail @ file"]);
    }
  });

  it("asks for review of images and PDFs that start as they should", async () => {
    const jpg = await check("outputs/f.JPG", new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2]));
    expect(jpg).toMatchObject({ verdict: "review", kind: "image" });
    const pdf = await check("outputs/r.pdf", "%PDF-1.7\n...");
    expect(pdf).toMatchObject({ verdict: "review", kind: "document" });
    expect(summary(pdf)).toEqual(["not_machine_checkable review @ file"]);
  });

  it("fails an image or PDF whose first bytes say otherwise", async () => {
    for (const [name, content] of [
      ["f.png", "a,b\n1,2\n"],
      ["f.png", new Uint8Array(PNG.slice(0, 5))],
      ["f.jpg", new Uint8Array(PNG)],
      ["r.pdf", "PDF-1.7"],
      ["f.png", ""],
    ] as const) {
      const r = await check(`outputs/${name}`, content);
      expect(r, name).toMatchObject({ verdict: "fail", kind: "blocked" });
      expect(summary(r)).toEqual(["type_mismatch fail @ file"]);
    }
  });

  it("fails binary content named .csv or .txt: NUL bytes, invalid or truncated UTF-8", async () => {
    for (const bytes of [
      new Uint8Array([0x50, 0x4b, 0x03, 0x04, 0, 0, 1]),
      enc.encode("group,n\na,\u0000\n"),
      new Uint8Array([...enc.encode("group,n\nS"), 0xe3, 0x6f, 0x0a]),
      new Uint8Array([...enc.encode("group,n\n"), 0xc3]),
      new Uint8Array([0xff, 0xfe, 0x67, 0x00]), // UTF-16
    ]) {
      for (const path of ["outputs/t.csv", "outputs/t.txt"]) {
        const r = await check(path, bytes);
        expect(r.verdict, path).toBe("fail");
        expect(r.kind).toBe("blocked");
        expect(summary(r)).toEqual(["binary_content fail @ file"]);
      }
    }
  });

  it("accepts UTF-8 text with characters cut across chunks", async () => {
    const r = await check("outputs/t.csv", csv("região,n", "Açores,20", "São Miguel 🌊,30"));
    expect(r.verdict).toBe("pass");
  });

  it("reads nothing of a blocked file and only the signature of an image, and closes the source", async () => {
    const blocked = tracked([enc.encode("PK")]);
    await checkFile("outputs/a.zip", blocked.source, POLICY);
    expect(blocked.state).toEqual({ read: 0, closed: true });
    const image = tracked([new Uint8Array(PNG.slice(0, 4)), new Uint8Array(PNG.slice(4)), new Uint8Array(1000)]);
    expect((await checkFile("outputs/f.png", image.source, POLICY)).verdict).toBe("review");
    expect(image.state).toEqual({ read: 2, closed: true });
    const binary = tracked([enc.encode("a,b\n"), new Uint8Array([0]), enc.encode("x")]);
    expect((await checkFile("outputs/t.csv", binary.source, POLICY)).verdict).toBe("fail");
    expect(binary.state).toEqual({ read: 2, closed: true });
  });
});

describe("CSV parsing", () => {
  it("handles quoted commas, embedded line breaks and escaped quotes", async () => {
    const r = await check(
      "outputs/t.csv",
      'group,note,n\n"a, b","line 1\nline 2\r\nline 3",20\n"say ""hi""","",4\n"c"x,y,30\n',
    );
    expect(summary(r)).toEqual(["min_cell_count fail @ row 2, column n"]);
  });

  it("strips a UTF-8 BOM and reads CRLF and lone CR line ends", async () => {
    expect(summary(await check("outputs/t.csv", "\ufeffgroup,n\r\na,4\r\nb,20\r\n"))).toEqual([
      "min_cell_count fail @ row 1, column n",
    ]);
    expect(summary(await check("outputs/t.csv", "group,n\ra,20\rb,4"))).toEqual([
      "min_cell_count fail @ row 2, column n",
    ]);
  });

  it("detects ; and tab delimiters from the header, with decimal commas", async () => {
    const semi = await check("outputs/t.csv", csv("grupo;n;média_idade", "a;4;54,3", "b;25;60,1"));
    expect(summary(semi)).toEqual(["min_cell_count fail @ row 1, column n"]);
    const tab = await check("outputs/t.csv", csv("group\tn\tmean", "a\t4\t1,5", "b\t25\t2,5"));
    expect(summary(tab)).toEqual(["min_cell_count fail @ row 1, column n"]);
  });

  it("reads a .tsv as tab-separated even when its header holds commas", async () => {
    const r = await check("outputs/t.tsv", csv("group, label\tn", "a, b\t4"));
    expect(summary(r)).toEqual(["min_cell_count fail @ row 1, column n"]);
  });

  it("skips blank lines without numbering them, and counts a row of blanks as cells", async () => {
    const r = await check("outputs/t.csv", "group,n\n\na,4\n\n\nb,20\n,\n");
    expect(summary(r)).toEqual(["min_cell_count fail @ row 1, column n"]);
  });

  it("checks a 10 MB single-line cell and a 10 MB single line of many fields", async () => {
    const big = "x".repeat(5 * 1024 * 1024);
    const oneCell = `group,note,n\na,"${big} ana@example.pt ${big}",20\n`;
    const r1 = await check("outputs/t.csv", oneCell);
    expect(summary(r1)).toEqual(["email fail @ row 1, column note"]);
    const fields = Array.from({ length: 1_200_000 }, (_, i) => String(i % 97));
    const header = Array.from({ length: fields.length }, (_, i) => `c${i}`).join(",");
    const r2 = await check("outputs/t.csv", `${header}\n${fields.join(",")}\n`, { maxFindings: 5 });
    // A label, then integers: a cross-tabulation, so its small cells are counts.
    expect(r2.verdict).toBe("fail");
    expect(r2.findings[0]).toMatchObject({ rule: "min_cell_count", location: "row 1, column c1" });
  }, 20_000);

  it("gives the same answer whatever the chunk boundaries (random table, random splits)", async () => {
    // check() itself compares the whole stream with 1-byte and random splits.
    const rows = Array.from({ length: 300 }, (_, i) => `"g ${i}, x",${(i * 7) % 40},"${i % 3 === 0 ? "a\nb" : "c"}"`);
    const r = await check("outputs/t.csv", csv("group,n,note", ...rows));
    expect(r.verdict).toBe("fail");
  });
});

describe("text files", () => {
  it("passes prose without identifiers or tables", async () => {
    const r = await check("outputs/README.md", "# Results\n\nThe model converged after 12 iterations.\n");
    expect(r).toEqual({ verdict: "pass", findings: [], kind: "text" });
  });

  it("asks for review of a table of numbers: printed data frames and Markdown tables", async () => {
    const printed = await check("outputs/run.log", "Fitting...\n  group  n  mean\n1 a 25 3.4\n2 b  4 5.1\ndone\n");
    expect(summary(printed)).toEqual(["numeric_table review @ lines 3-4"]);
    const md = await check("outputs/t.md", "Table 1\n\n| group | n |\n|---|---|\n| a | 25 |\n| b | 40 |\n\nEnd\n");
    expect(summary(md)).toEqual(["numeric_table review @ lines 5-6"]);
  });

  it("asks for review of a small number labelled as a count, and passes larger ones", async () => {
    const r = await check("outputs/r.json", '{"group": "a", "n": 4, "mean": 2.5}\n{"group": "b", "count": 25}\n');
    expect(summary(r)).toEqual(["possible_count review @ line 1"]);
    expect(r.findings[0]!.message).toContain("a count of 4 is below the minimum 10");
    expect((await check("outputs/r.txt", "mean 5.3 (n=40), p = 0.04\n")).verdict).toBe("pass");
  });

  it("scans a 10 MB line for identifiers in bounded windows", async () => {
    const filler = "lorem ipsum ".repeat(450_000);
    const r = await check("outputs/big.log", `start\n${filler}utente 136695974 ${filler}\nend\n`);
    expect(summary(r)).toEqual(["health_number fail @ line 2"]);
  }, 20_000);
});

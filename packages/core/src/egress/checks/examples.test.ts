/** The examples of shared/docs/egress-checks.md ("must hold"), one test each. */
import { describe, expect, it } from "vitest";
import { check, csv, summary } from "./test-support";

describe("egress-checks.md examples", () => {
  it("1. group,n / a,25 / b,40 passes", async () => {
    const r = await check("outputs/t.csv", csv("group,n", "a,25", "b,40"));
    expect(r).toEqual({ verdict: "pass", findings: [], kind: "tabular" });
  });

  it("2. group,n / a,25 / b,4 fails with min_cell_count at row 2, column n", async () => {
    const r = await check("outputs/t.csv", csv("group,n", "a,25", "b,4"));
    expect(r.verdict).toBe("fail");
    expect(r.findings).toEqual([
      {
        rule: "min_cell_count",
        severity: "fail",
        location: "row 2, column n",
        message: "cell value 4 is below the minimum count 10: suppress or aggregate",
      },
    ]);
  });

  it("3. a 2x2 crosstab sex,yes,no / F,10,12 / M,9,15 fails on the 9 only", async () => {
    const r = await check("outputs/t.csv", csv("sex,yes,no", "F,10,12", "M,9,15"));
    expect(r.verdict).toBe("fail");
    expect(summary(r)).toEqual(["min_cell_count fail @ row 2, column yes"]);
    expect(r.findings[0]!.message).toContain("cell value 9 is below the minimum count 10");
  });

  it("4. district,count / Porto,0 / Braga,31 is review (zero_cell)", async () => {
    const r = await check("outputs/t.csv", csv("district,count", "Porto,0", "Braga,31"));
    expect(r.verdict).toBe("review");
    expect(summary(r)).toEqual(["zero_cell review @ row 1, column count"]);
  });

  it("5. a suppressed cell recoverable from the total fails (suppression_recoverable: 1)", async () => {
    const r = await check("outputs/t.csv", csv("group,n", "a,[REDACTED]", "b,10", "c,15", "d,25", "Total,51"));
    expect(r.verdict).toBe("fail");
    expect(summary(r)).toEqual(["suppression_recoverable fail @ row 1, column n"]);
    expect(r.findings[0]!.message).toContain("gives 1");
  });

  describe("6. text files", () => {
    it("an e-mail address fails (email)", async () => {
      const r = await check("outputs/notes.txt", "Contact ana.silva@example.pt for the data.\n");
      expect(r.verdict).toBe("fail");
      expect(summary(r)).toEqual(["email fail @ line 1"]);
    });

    it("136695973 fails (nif)", async () => {
      const r = await check("outputs/notes.txt", "Reference 136695973\n");
      expect(r.verdict).toBe("fail");
      expect(summary(r)).toEqual(["nif fail @ line 1"]);
    });

    it("136695974 beside the word utente fails (health_number)", async () => {
      const r = await check("outputs/notes.txt", "Número de utente: 136695974\n");
      expect(r.verdict).toBe("fail");
      expect(summary(r)).toEqual(["health_number fail @ line 1"]);
    });
  });

  describe("7. other types", () => {
    it("a .parquet file fails (data_format)", async () => {
      const r = await check(
        "outputs/t.parquet",
        new Uint8Array([0x50, 0x41, 0x52, 0x31, 0, 0, 0x50, 0x41, 0x52, 0x31]),
      );
      expect(r.verdict).toBe("fail");
      expect(r.kind).toBe("data_format");
      expect(summary(r)).toEqual(["data_format fail @ file"]);
    });

    it("a .png is review (not_machine_checkable)", async () => {
      const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
      const r = await check("outputs/figure1.png", png);
      expect(r.verdict).toBe("review");
      expect(r.kind).toBe("image");
      expect(summary(r)).toEqual(["not_machine_checkable review @ file"]);
    });
  });
});

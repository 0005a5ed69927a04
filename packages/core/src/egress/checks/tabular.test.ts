/** The tabular rules, each from its passing side and its review/fail side. */
import { describe, expect, it } from "vitest";
import { check, csv, summary } from "./test-support";

const T = "outputs/table.csv";

describe("row_level_data by column name", () => {
  it("fails a column named like an identifier column, whatever its case and separators", async () => {
    for (const header of ["patient_id", "Patient ID", "PATIENT-ID", "patientId", "pseudo_patient_id"]) {
      const r = await check(T, csv(`${header},n`, "x,25"));
      expect(summary(r), header).toEqual([`row_level_data fail @ column ${header}`]);
      expect(r.findings[0]!.message).toContain('identifier column "patient_id"');
    }
  });

  it("passes columns that only share a word with an identifier column", async () => {
    const r = await check(T, csv("patient_group,id_scheme,n", "adults,v1,25"));
    expect(r.verdict).toBe("pass");
  });
});

describe("min_cell_count", () => {
  it("passes counts at the minimum and fails those below it, in any count-named column", async () => {
    for (const header of ["n", "N", "count", "n_patients", "Num cases", "deathCount", "total", "freq"]) {
      const pass = await check(T, csv(`group,${header}`, "a,10", "b,11"));
      expect(pass.verdict, header).toBe("pass");
      const fail = await check(T, csv(`group,${header}`, "a,10", "b,3"));
      expect(summary(fail), header).toEqual([`min_cell_count fail @ row 2, column ${header}`]);
    }
  });

  it("takes the minimum from the permit's policy", async () => {
    const r = await check(T, csv("group,n", "a,59", "b,60"), { minCellCount: 60 });
    expect(summary(r)).toEqual(["min_cell_count fail @ row 1, column n"]);
    expect(r.findings[0]!.message).toBe("cell value 59 is below the minimum count 60: suppress or aggregate");
  });

  it("leaves suppressed cells, decimals and negative numbers in a count column alone", async () => {
    const r = await check(T, csv("group,n", "a,*", "b,<10", "c,", "d,NA", "e,12.5", "f,-3", "g,40"));
    expect(r.verdict).toBe("pass");
  });

  it("reads a count written as 4.0 as the count 4", async () => {
    const r = await check(T, csv("group,n", "a,4.0"));
    expect(summary(r)).toEqual(["min_cell_count fail @ row 1, column n"]);
  });

  it("treats every cell of a cross-tabulation as a count, but not a table with a statistic column", async () => {
    const crosstab = await check(T, csv("age_group,2019,2020,2021", "0-17,120,3,98", "18-64,400,410,0"));
    expect(summary(crosstab)).toEqual([
      "min_cell_count fail @ row 1, column 2020",
      "zero_cell review @ row 2, column 2021",
    ]);
    const withMean = await check(T, csv("group,value,mean_age", "a,3,40.5"));
    expect(summary(withMean)).toEqual([
      "no_count_for_statistic review @ column mean_age",
      "possible_count review @ row 1, column value",
    ]);
  });
});

describe("zero_cell", () => {
  it("is review by default and fail when the policy says so", async () => {
    const review = await check(T, csv("district,count", "Porto,0"));
    expect(summary(review)).toEqual(["zero_cell review @ row 1, column count"]);
    const fail = await check(T, csv("district,count", "Porto,0"), { zeros: "fail" });
    expect(summary(fail)).toEqual(["zero_cell fail @ row 1, column count"]);
  });

  it("passes a count column without zeros", async () => {
    expect((await check(T, csv("district,count", "Porto,10"))).verdict).toBe("pass");
  });
});

describe("possible_count", () => {
  it("flags small non-negative integers in an integer column not named as a count", async () => {
    const r = await check(T, csv("group,value,rate", "a,3,0.5", "b,250,0.7"));
    expect(summary(r)).toEqual(["possible_count review @ row 1, column value"]);
    expect(r.findings[0]!.message).toContain("cell value 3 may be a count below the minimum 10");
  });

  it("passes integer columns of large values and columns named as other quantities", async () => {
    const r = await check(T, csv("group,value,year,age,rate", "a,250,2019,4,0.5", "b,300,2020,7,0.7"));
    expect(r.verdict).toBe("pass");
  });

  it("passes a column that also holds text", async () => {
    const r = await check(T, csv("group,value,rate", "a,3,0.5", "b,high,0.7"));
    expect(r.verdict).toBe("pass");
  });
});

describe("suppression_recoverable", () => {
  it("passes when two cells of the line are suppressed", async () => {
    const r = await check(T, csv("group,n", "a,*", "b,*", "c,15", "d,25", "Total,51"));
    expect(r.verdict).toBe("pass");
  });

  it("passes a suppressed cell when the table has no total", async () => {
    const r = await check(T, csv("group,n", "a,*", "b,12", "c,15"));
    expect(r.verdict).toBe("pass");
  });

  it("fails a cell recoverable from a total column, with every suppression marker", async () => {
    for (const marker of ["", "*", "<10", "< 5", "REDACTED", "[REDACTED]", "NA", "na"]) {
      const r = await check(T, csv("region,male,female,total", `North,${marker},30,34`, "South,20,25,45"));
      expect(summary(r), `marker "${marker}"`).toEqual(["suppression_recoverable fail @ row 1, column male"]);
      expect(r.findings[0]!.message).toContain(
        "the total 34 in column total of this row minus the other cells gives 4",
      );
    }
  });

  it("fails a total row that comes first, and subtotals of groups in long format", async () => {
    const first = await check(T, csv("group,n", "All,60", "a,*", "b,20", "c,25"));
    expect(summary(first)).toEqual(["suppression_recoverable fail @ row 2, column n"]);
    const grouped = await check(
      T,
      csv("region,sex,n", "North,F,12", "South,F,20", "North,M,*", "South,M,22", "North,Total,30", "South,Total,42"),
    );
    expect(summary(grouped)).toEqual(["suppression_recoverable fail @ row 3, column n"]);
    expect(grouped.findings[0]!.message).toContain("gives 18");
  });

  it("asks for review instead when the table is too large to keep", async () => {
    const rows = [
      "group,n",
      "a,*",
      ...Array.from({ length: 110_000 }, (_, i) => `g${i},${20 + (i % 50)}`),
      "Total,999",
    ];
    const r = await check(T, csv(...rows));
    expect(summary(r)).toEqual(["suppression_recoverable review @ table"]);
  });
});

describe("extreme_values", () => {
  it("flags a min/max column and a row labelled as a maximum", async () => {
    const col = await check(T, csv("group,n,max_age", "a,20,88"));
    expect(summary(col)).toEqual(["extreme_values review @ column max_age"]);
    const row = await check(T, csv("statistic,age", "mean,54.2", "Maximum,97"));
    expect(summary(row)).toEqual(["extreme_values review @ row 2"]);
  });

  it("passes tables without minima or maxima", async () => {
    expect((await check(T, csv("group,n,admin_region", "a,20,North"))).verdict).toBe("pass");
  });
});

describe("no_count_for_statistic", () => {
  it("flags a mean, median, sd or percentile with no count column", async () => {
    const r = await check(T, csv("group,mean_age,sd_age,median_los,p90_cost", "a,54.1,12.3,4,1200.5"));
    expect(summary(r)).toEqual([
      "no_count_for_statistic review @ column mean_age",
      "no_count_for_statistic review @ column sd_age",
      "no_count_for_statistic review @ column median_los",
      "no_count_for_statistic review @ column p90_cost",
    ]);
  });

  it("passes a statistic with a count beside it", async () => {
    expect((await check(T, csv("group,n,mean_age", "a,40,54.1"))).verdict).toBe("pass");
  });
});

describe("degrees_of_freedom", () => {
  it("fails a model whose N minus its parameters is below the minimum", async () => {
    const r = await check(
      T,
      csv("term,estimate,std_error,n", "(Intercept),1.2,0.3,12", "age,0.05,0.01,12", "sex,0.4,0.2,12"),
    );
    expect(summary(r)).toEqual(["degrees_of_freedom fail @ table"]);
    expect(r.findings[0]!.message).toContain("9 (N 12 minus 3 parameters), below the minimum 10");
  });

  it("passes a model with enough observations, given as a row", async () => {
    const r = await check(T, csv("term,estimate,se", "(Intercept),1.2,0.3", "age,0.05,0.01", "nobs,250,"));
    expect(r.verdict).toBe("pass");
  });

  it("uses residual degrees of freedom when the table gives them", async () => {
    const low = await check(T, csv("term,coef,std_error,df_residual", "x,0.5,0.1,8"));
    expect(summary(low)).toEqual(["degrees_of_freedom fail @ table"]);
    const ok = await check(T, csv("term,coef,std_error,df_residual", "x,0.5,0.1,80"));
    expect(ok.verdict).toBe("pass");
  });

  it("asks for review when N is absent", async () => {
    const r = await check(T, csv("term,estimate,std_error", "x,0.5,0.1"));
    expect(summary(r)).toEqual(["degrees_of_freedom review @ table"]);
  });

  it("takes the minimum from the policy", async () => {
    const r = await check(T, csv("term,estimate,se,n", "x,0.5,0.1,30"), { minDegreesOfFreedom: 50 });
    expect(summary(r)).toEqual(["degrees_of_freedom fail @ table"]);
  });
});

describe("rounding", () => {
  it("is off unless the policy sets roundTo", async () => {
    expect((await check(T, csv("group,n", "a,12"))).verdict).toBe("pass");
  });

  it("fails counts that are not multiples of roundTo, in count columns and cross-tabulations", async () => {
    const r = await check(T, csv("group,n", "a,15", "b,12"), { roundTo: 5 });
    expect(summary(r)).toEqual(["rounding fail @ row 2, column n"]);
    expect(r.findings[0]!.message).not.toContain("12");
    const crosstab = await check(T, csv("sex,yes,no", "F,10,15", "M,20,23"), { roundTo: 5 });
    expect(summary(crosstab)).toEqual(["rounding fail @ row 2, column no"]);
  });
});

describe("table shape", () => {
  it("reports ragged rows for review and still checks their cells", async () => {
    const r = await check(T, csv("group,n", "a,20,ana@example.pt", "b"));
    expect(summary(r)).toEqual([
      "email fail @ row 1, column #3",
      "ragged_row review @ row 1",
      "ragged_row review @ row 2",
    ]);
    expect(r.findings[1]!.message).toContain("row 1 has 3 fields where the header has 2");
  });

  it("reports a quote that is never closed", async () => {
    const r = await check(T, 'group,n\na,20\n"b,30\nc,40\n');
    expect(summary(r)).toContain("unterminated_quote review @ row 2");
  });

  it("passes an empty file and a header alone", async () => {
    expect(await check(T, "")).toEqual({ verdict: "pass", findings: [], kind: "tabular" });
    expect((await check(T, "group,n\n")).verdict).toBe("pass");
    expect((await check(T, "group,n")).verdict).toBe("pass");
  });
});

describe("maxFindings", () => {
  it("lists at most maxFindings findings, then says how many more there are per rule", async () => {
    const rows = ["group,n", ...Array.from({ length: 500 }, (_, i) => `g${i},${i % 2 === 0 ? 3 : 0}`)];
    const r = await check(T, csv(...rows), { maxFindings: 20 });
    expect(r.verdict).toBe("fail");
    expect(r.findings).toHaveLength(22);
    expect(r.findings.slice(0, 20).every((f) => f.rule === "min_cell_count")).toBe(true);
    expect(r.findings[20]).toMatchObject({ rule: "min_cell_count", severity: "fail", location: "230 more locations" });
    expect(r.findings[21]).toMatchObject({ rule: "zero_cell", severity: "review", location: "250 more locations" });
  });

  it("lists 200 by default", async () => {
    const rows = ["group,n", ...Array.from({ length: 1000 }, (_, i) => `g${i},3`)];
    const r = await check(T, csv(...rows));
    expect(r.findings).toHaveLength(201);
    expect(r.findings[200]!.message).toContain("800 more min_cell_count findings are not listed");
  });
});

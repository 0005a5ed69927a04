/** The identifier scan (every cell, every line) and staged identifiers, from both sides. */
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { IdentifierSet, Pseudonymiser } from "../../staging";
import { check, csv, summary } from "./test-support";

const T = "outputs/table.csv";
const TXT = "outputs/notes.txt";

describe("email", () => {
  it("fails an address in a cell or a line", async () => {
    expect(summary(await check(T, csv("group,contact,n", "a,joao.m+x@hospital-sa.com.pt,20")))).toEqual([
      "email fail @ row 1, column contact",
    ]);
    expect(summary(await check(TXT, "line one\nsee <ana@ex.pt>, or bob@ex.pt.\n"))).toEqual(["email fail @ line 2"]);
  });

  it("passes @-handles, local hosts and bare domains", async () => {
    const r = await check(TXT, "@ana said\nuser@localhost\nexample.pt\n@ 3 o'clock\nx@y.1\n");
    expect(r.verdict).toBe("pass");
  });
});

describe("nif", () => {
  it("fails a 9-digit number with a valid check digit, also inside text or after letters", async () => {
    for (const nif of ["136695973", "PT136695973", "500000000", "999999990"]) {
      expect(summary(await check(TXT, `ref ${nif}\n`)), nif).toEqual(["nif fail @ line 1"]);
    }
    expect(summary(await check(T, csv("group,ref,n", "a,136695973,20")))).toEqual(["nif fail @ row 1, column ref"]);
  });

  it("passes a wrong check digit, a first digit of 0, 4 or 7, other lengths and decimals", async () => {
    const r = await check(TXT, "136695974\n436695973\n036695970\n1366959730\n13669597\n0.136695973\n136695973.25\n");
    expect(r.verdict).toBe("pass");
  });
});

describe("health_number", () => {
  it("fails a 9-digit number in a column or line about utente/SNS/health/patient numbers", async () => {
    expect(summary(await check(T, csv("group,n_utente", "a,136695974")))).toContain(
      "health_number fail @ row 1, column n_utente",
    );
    for (const line of [
      "SNS 136695974",
      "health number: 136695974",
      "patient_number=136695974",
      "nº utente 936695974",
    ]) {
      expect(summary(await check(TXT, `${line}\n`)), line).toEqual(["health_number fail @ line 1"]);
    }
  });

  it("passes a 9-digit number that is not a NIF where no such words appear", async () => {
    expect((await check(TXT, "batch 136695974\n")).verdict).toBe("pass");
    expect((await check(TXT, "snsx 136695974 unsnsy\n")).verdict).toBe("pass");
  });
});

describe("date_of_birth and full_date", () => {
  it("fails a full date in a column named like birth, dob or nascimento", async () => {
    for (const header of ["birth_date", "DOB", "data_nascimento", "dateOfBirth"]) {
      const r = await check(T, csv(`group,${header},n`, "a,1961-04-12,20"));
      expect(summary(r), header).toEqual([`date_of_birth fail @ row 1, column ${header}`]);
    }
    expect(summary(await check(TXT, "Born (date of birth) 12/04/1961\n"))).toEqual(["date_of_birth fail @ line 1"]);
  });

  it("asks for review of any other full date, in the three forms", async () => {
    for (const d of ["2024-03-01", "01/03/2024", "1-3-2024", "2024-02-29T10:00", "12/25/2023"]) {
      expect(summary(await check(TXT, `visit ${d}\n`)), d).toEqual(["full_date review @ line 1"]);
    }
  });

  it("passes partial dates, impossible dates and ranges", async () => {
    const r = await check(TXT, "2024-03\n1961\n2023-02-29\n31/04/2024\n2019-2020\n10-12\n13/13/2024\n");
    expect(r.verdict).toBe("pass");
    expect((await check(T, csv("group,birth_year,n", "a,1961,20"))).verdict).toBe("pass");
  });
});

describe("phone and postcode", () => {
  it("asks for review of +351 and of 9-digit numbers starting with 2 or 9", async () => {
    expect(summary(await check(TXT, "call +351 912 345 678\n"))).toEqual(["phone review @ line 1"]);
    expect(summary(await check(TXT, "call 912345670\n"))).toEqual(["phone review @ line 1"]);
    expect(summary(await check(TXT, "fax 223456781\n"))).toEqual(["phone review @ line 1"]);
    // Phone-shaped but with a valid NIF check digit: the stricter rule wins.
    expect(summary(await check(TXT, "fax 223456780\n"))).toEqual(["nif fail @ line 1"]);
  });

  it("asks for review of a dddd-ddd postcode, and passes other shapes", async () => {
    expect(summary(await check(T, csv("group,cp,n", "a,4200-319,20")))).toEqual(["postcode review @ row 1, column cp"]);
    expect((await check(TXT, "4200\n4200-31\n4200-3190\n14200-319\n")).verdict).toBe("pass");
  });
});

describe("row_level_data by value", () => {
  const key = randomBytes(32);
  const pseudonymiser = new Pseudonymiser(randomBytes(32));
  const set = new IdentifierSet(key);
  const original = "PT-0042-HSJ";
  const pseudonym = pseudonymiser.pseudonym(original);
  set.add(original);
  set.add(pseudonym);
  const knownIdentifier = (v: string) => set.has(v);

  it("fails a cell equal to a staged pseudonym or original, trimmed as staging trims", async () => {
    const r = await check(T, csv("group,who,n", `a,${pseudonym},20`, `b," ${original} ",30`, "c,PT-0043-HSJ,40"), {
      knownIdentifier,
    });
    expect(summary(r)).toEqual(["row_level_data fail @ row 1, column who", "row_level_data fail @ row 2, column who"]);
  });

  it("fails a pseudonym inside a longer cell or a text line, and a list of them in a text file", async () => {
    const cell = await check(T, csv("group,note,n", `a,"outlier: ${pseudonym}, removed",20`), { knownIdentifier });
    expect(summary(cell)).toEqual(["row_level_data fail @ row 1, column note"]);
    const text = await check(TXT, `ids:\n${pseudonym}\n"${original}",\n`, { knownIdentifier });
    expect(summary(text)).toEqual(["row_level_data fail @ line 2", "row_level_data fail @ line 3"]);
  });

  it("fails a table whose header is made of identifiers, without naming them", async () => {
    const r = await check(T, csv(`group,${pseudonym},n`, "a,1,20"), { knownIdentifier });
    // A cross-tabulation of people: its cells are counts, named by position.
    expect(summary(r)).toEqual(["row_level_data fail @ header, column #2", "min_cell_count fail @ row 1, column #2"]);
  });

  it("passes values the set has never seen", async () => {
    const r = await check(T, csv("group,who,n", "a,PT-0043-HSJ,20", `b,${pseudonymiser.pseudonym("PT-9")},30`), {
      knownIdentifier,
    });
    expect(r.verdict).toBe("pass");
  });

  it("asks the set once per distinct value", async () => {
    let calls = 0;
    const rows = Array.from({ length: 3000 }, (_, i) => `g${i % 7},${20 + (i % 3)}`);
    await check(T, csv("group,n", ...rows), {
      knownIdentifier: (v) => {
        calls++;
        return set.has(v);
      },
    });
    // 7 labels and 3 counts, plus the two header names; each of the four runs of check() has its own cache.
    expect(calls).toBe(4 * 12);
  });
});

describe("no identifier value in any finding", () => {
  it("names the place and the kind, never the value, for every identifier rule", async () => {
    const set = new IdentifierSet(randomBytes(32));
    set.add("QZXMARK777");
    const values = [
      "qzxmark@example.pt",
      "136695973",
      "936695971",
      "1961-04-12",
      "2024-03-01",
      "+351913456789",
      "4200-319",
      "QZXMARK777",
    ];
    const table = csv(
      "group,contact,ref,n_utente,dob,visit,phone,cp,who,n",
      `a,${values[0]},${values[1]},${values[2]},${values[3]},${values[4]},${values[5]},${values[6]},${values[7]},20`,
    );
    const text = `${values.join(" ")}\nutente ${values[2]}\n`;
    for (const [path, content] of [
      [T, table],
      [TXT, text],
    ] as const) {
      const r = await check(path, content, { knownIdentifier: (v) => set.has(v) });
      const rules = new Set(r.findings.map((f) => f.rule));
      for (const rule of ["email", "nif", "health_number", "full_date", "phone", "postcode", "row_level_data"]) {
        expect(rules.has(rule), `${path} ${rule}`).toBe(true);
      }
      const shown = JSON.stringify(r.findings);
      for (const v of [...values, "QZXMARK", "qzxmark", "136695", "936695", "1961", "4200", "913456"]) {
        expect(shown, `${path} shows ${v}`).not.toContain(v);
      }
    }
  });
});

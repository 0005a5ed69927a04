/**
 * `spe console` opens the link the server answers only if it is an http(s) link on the configured API's
 * origin, made of characters no shell gives a meaning to (on Windows it goes through `cmd /c start`).
 */
import { describe, expect, it } from "vitest";
import { checkConsoleLink } from "../../packages/cli/src/commands/console";

const API = "http://127.0.0.1:8787";
const CODE = "A".repeat(43);

describe("checkConsoleLink", () => {
  it("accepts the server's own sign-in link", () => {
    const link = `${API}/console/sign-in/link?code=${CODE}`;
    expect(checkConsoleLink(link, API)).toBe(link);
    expect(checkConsoleLink(`https://spe.example/console/sign-in/link?code=a-b_c`, "https://spe.example/")).toBe(
      "https://spe.example/console/sign-in/link?code=a-b_c",
    );
  });

  it("refuses another origin, another scheme, shell metacharacters, and anything that is not a URL", () => {
    for (const link of [
      `http://evil.example/console/sign-in/link?code=${CODE}`,
      `https://127.0.0.1:8787/console/sign-in/link?code=${CODE}`, // not the configured scheme
      `http://127.0.0.1:8788/console/sign-in/link?code=${CODE}`,
      `file:///etc/passwd`,
      `javascript:alert(1)`,
      `${API}/console/sign-in/link?code=x&calc.exe`,
      `${API}/console/sign-in/link?code=x|calc`,
      `${API}/console/sign-in/link?code=%PATH%`,
      `${API}/console/sign-in/link?code=x"^&calc`,
      `${API}@evil.example/`,
      `${API}/a b`,
      "not a url",
      "",
      42,
      undefined,
    ]) {
      expect(() => checkConsoleLink(link, API), String(link)).toThrow(
        /not an http\(s\) link on http:\/\/127\.0\.0\.1:8787/,
      );
    }
  });
});

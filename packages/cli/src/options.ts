/** Parsers for option values; a bad value is a usage error that commander reports with the option name. */
import { InvalidArgumentError } from "commander";

/** A number > 0, fractions allowed (hours). */
export function positiveNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError("expected a number > 0");
  return n;
}

/** A whole number >= 0 (audit sequence numbers). */
export function wholeNumber(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n))
    throw new InvalidArgumentError("expected a whole number >= 0");
  return n;
}

/** A page size, 1 to 500 as the API allows. */
export function pageSize(value: string): number {
  const n = wholeNumber(value);
  if (n < 1 || n > 500) throw new InvalidArgumentError("expected 1 to 500");
  return n;
}

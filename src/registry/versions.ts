// How model versions compare, so a request without a version goes to the highest one. A manifest version is
// `<Apache version>-<suffix>` (e.g. 1.0.0-12333122), usually valid semver with the suffix as a pre-release part:
// where both versions parse as semver, semver decides (1.10.0-1 > 1.9.0-7, 1.0.0-10 > 1.0.0-9). Anything else
// (1.0-3, a plain 2.1) compares in natural order: runs of digits as numbers, everything else as text, left to right.
// Two versions equal by those rules (1.0.0-01 and 1.0.0-1) fall back to plain string order, so the order is total.
import semverCompare from "semver/functions/compare.js";
import semverValid from "semver/functions/valid.js";

/** Negative when `a` is lower than `b`, positive when higher, 0 only for the same text. */
export function compareVersions(a: string, b: string): number {
  if (a === b) return 0;
  const byRule = semverValid(a) && semverValid(b) ? semverCompare(a, b) : naturalCompare(a, b);
  if (byRule !== 0) return byRule;
  return a < b ? -1 : 1;
}

const RUNS = /\d+|\D+/g;

/** Natural order: digit runs compare as numbers (without leading zeros), other runs as text; a prefix comes first. */
export function naturalCompare(a: string, b: string): number {
  const x = a.match(RUNS) ?? [];
  const y = b.match(RUNS) ?? [];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const p = x[i];
    const q = y[i];
    const pDigits = p.charCodeAt(0) >= 48 && p.charCodeAt(0) <= 57;
    const qDigits = q.charCodeAt(0) >= 48 && q.charCodeAt(0) <= 57;
    let c: number;
    if (pDigits && qDigits) c = compareDigits(p, q);
    else if (pDigits !== qDigits) c = pDigits ? -1 : 1;
    else c = p < q ? -1 : p > q ? 1 : 0;
    if (c !== 0) return c;
  }
  return x.length - y.length;
}

/** Two digit runs by value, whatever their length (no Number overflow for long build numbers). */
function compareDigits(p: string, q: string): number {
  const a = p.replace(/^0+(?=\d)/, "");
  const b = q.replace(/^0+(?=\d)/, "");
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

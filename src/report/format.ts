/**
 * Numbers for people, in the HTML reports and the printed tables: seconds with one decimal,
 * accuracy in percent with two, differences of accuracy in percentage points. Tables keep raw
 * numbers (the report's JSON block and the viewer read them); a column's heading says how its
 * numbers are shown, so the convention is in one place: headings are words, with the unit in
 * brackets.
 */

/** Seconds with one decimal: 39.2. */
export function formatSeconds(seconds: number): string {
  return seconds.toFixed(1);
}

/** A fraction as a percentage with two decimals: 0.98123 -> '98.12%'. */
export function formatPercent(fraction: number): string {
  return `${(100 * fraction).toFixed(2)}%`;
}

/** A difference of two fractions in percentage points, signed: 0.0052 -> '+0.52'. */
export function formatPoints(difference: number, signed = true): string {
  const points = (100 * difference).toFixed(2);
  return signed && difference >= 0 ? `+${points}` : points;
}

/** A count with thousands separators: 12345.6 -> '12,346'. */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** Any other number: integers whole, the rest to four significant digits (0.125, 1.83). */
export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (Number.isInteger(x)) return x.toLocaleString('en-US');
  if (Math.abs(x) < 1e-3) return x.toPrecision(3);
  if (Math.abs(x) >= 1e4) return formatCount(x);
  return String(Number(x.toPrecision(4)));
}

/**
 * A number in a column headed `heading`: '... (s)' seconds, '... accuracy' a percentage,
 * '... (points)' percentage points (signed when the heading starts with 'difference'),
 * '... per second' a count, anything else formatNumber.
 */
export function formatColumnValue(heading: string, x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (heading.endsWith('(s)')) return formatSeconds(x);
  if (heading.endsWith('accuracy')) return formatPercent(x);
  if (heading.endsWith('(points)')) return formatPoints(x, heading.startsWith('difference'));
  if (heading.endsWith('per second')) return formatCount(x);
  return formatNumber(x);
}

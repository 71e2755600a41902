/** Mean and spread over seeds (what curve summaries and experiments report), min and max. */

export const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Sample standard deviation (n - 1); 0 for one value. */
export function std(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}

/**
 * Mean of a's value minus b's for the same key (paired: seed s of a method against seed s of its
 * baseline), over a's keys; every key of a must be in b.
 */
export function pairedMeanDifference(
  a: ReadonlyMap<number, number>,
  b: ReadonlyMap<number, number>,
): number {
  return mean(
    [...a].map(([key, value]) => {
      const other = b.get(key);
      if (other === undefined) throw new Error(`paired difference: key ${key} has no pair`);
      return value - other;
    }),
  );
}

/**
 * Smallest and largest of `xs`, by a loop: `Math.min(...xs)` passes every value as an argument
 * and overflows the call stack beyond about 100,000 of them. Empty: Infinity and -Infinity, as
 * Math.min() and Math.max() give.
 */
export function minOf(xs: Iterable<number>): number {
  let m = Infinity;
  for (const x of xs) if (x < m || Number.isNaN(x)) m = x;
  return m;
}

export function maxOf(xs: Iterable<number>): number {
  let m = -Infinity;
  for (const x of xs) if (x > m || Number.isNaN(x)) m = x;
  return m;
}

/** The middle value of `xs` (the mean of the two middle ones for an even count). */
export function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

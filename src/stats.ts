/** Mean and spread over seeds: what curve summaries and every experiment script report. */

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

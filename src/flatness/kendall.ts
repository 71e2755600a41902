/**
 * Kendall's rank correlation tau-b between two paired samples (ties in either counted as
 * neither concordant nor discordant, with the tau-b denominator sqrt((n0 - n1)(n0 - n2))).
 */
import { UsageError } from '../errors.js';

export function kendallTau(xs: readonly number[], ys: readonly number[]): number {
  if (xs.length !== ys.length || xs.length < 2) {
    throw new UsageError(
      'ANNEAL_BAD_OPTION',
      `kendallTau: got ${xs.length} and ${ys.length} values; expected two samples of the same length >= 2`,
    );
  }
  let concordant = 0;
  let discordant = 0;
  let tiesX = 0;
  let tiesY = 0;
  for (let i = 0; i < xs.length; i++) {
    for (let j = i + 1; j < xs.length; j++) {
      const dx = Math.sign(xs[i] - xs[j]);
      const dy = Math.sign(ys[i] - ys[j]);
      if (dx === 0) tiesX++;
      if (dy === 0) tiesY++;
      if (dx === 0 || dy === 0) continue;
      if (dx === dy) concordant++;
      else discordant++;
    }
  }
  const n0 = (xs.length * (xs.length - 1)) / 2;
  const denom = Math.sqrt((n0 - tiesX) * (n0 - tiesY));
  return denom === 0 ? NaN : (concordant - discordant) / denom;
}

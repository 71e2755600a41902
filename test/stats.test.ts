/** The mean, sample std and paired difference every benchmark reports, on hand-worked values. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  directionalVerdict,
  maxOf,
  mean,
  minimumDetectableEffect,
  minOf,
  pairedDifferences,
  pairedEvidence,
  pairedMeanDifference,
  regularizedIncompleteBeta,
  std,
  studentTCdf,
  studentTQuantile,
  tInterval,
  tost,
} from '../src/stats.js';
import { previewSchedule } from '../src/schedules/index.js';
import { Timeline } from '../src/time/index.js';

test('mean and sample std (n - 1) of 2, 4, 4, 4, 5, 5, 7, 9', () => {
  const xs = [2, 4, 4, 4, 5, 5, 7, 9];
  assert.equal(mean(xs), 5);
  // Squared deviations sum to 32; 32 / 7.
  assert.equal(std(xs), Math.sqrt(32 / 7));
  assert.equal(std([3]), 0);
});

test('the paired difference pairs by key, not by position, and needs every pair', () => {
  const method = new Map([
    [2, 0.9],
    [0, 0.5],
  ]);
  const baseline = new Map([
    [0, 0.25],
    [1, 0.0],
    [2, 0.7],
  ]);
  // (0.5 - 0.25 + 0.9 - 0.7) / 2 = 0.225; baseline seed 1 has no partner and is not used.
  assert.ok(Math.abs(pairedMeanDifference(method, baseline) - 0.225) < 1e-12);
  assert.throws(() => pairedMeanDifference(new Map([[5, 1]]), baseline), /key 5 has no pair/);
});

test('minOf and maxOf take arrays far longer than a call takes arguments', () => {
  // 300,000 values: Math.min(...xs) throws RangeError here. The extremes are placed by hand.
  const xs = new Float64Array(300_000).fill(1);
  xs[123_456] = -2;
  xs[299_999] = 7;
  assert.equal(minOf(xs), -2);
  assert.equal(maxOf(xs), 7);
  assert.equal(minOf([]), Infinity);
  assert.equal(maxOf([]), -Infinity);
  assert.ok(Number.isNaN(minOf([1, NaN, 0])), 'NaN propagates, as in Math.min');
});

test('a schedule preview of 150,000 steps does not overflow the stack', () => {
  const preview = previewSchedule({ name: 'cosine' }, new Timeline({ totalSteps: 150_000 }));
  assert.equal(preview.value.length, 150_000);
  // Cosine annealing from 1 to 0: 1 at step 0, its least value at the last step.
  assert.equal(preview.max, 1);
  assert.equal(preview.min, preview.value[149_999]);
});

const close = (actual: number, expected: number, tol: number, what: string) =>
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} vs ${expected} (tol ${tol})`);

test('Student t quantiles match the closed forms of 1 and 2 degrees of freedom', () => {
  // df 1 is the Cauchy distribution, t_p = tan(π (p - 1/2)); df 2: t_p = (2p - 1) / √(2p(1 - p)).
  for (const p of [0.55, 0.8, 0.9, 0.975, 0.995, 0.9999, 0.2, 0.025]) {
    close(
      studentTQuantile(p, 1),
      Math.tan(Math.PI * (p - 0.5)),
      1e-9 * (1 + Math.abs(Math.tan(Math.PI * (p - 0.5)))),
      `t(${p}, 1)`,
    );
    close(
      studentTQuantile(p, 2),
      (2 * p - 1) / Math.sqrt(2 * p * (1 - p)),
      1e-10 * 100,
      `t(${p}, 2)`,
    );
  }
  // And the CDFs: 1/2 + atan(t) / π; 1/2 + t / (2 √(2 + t²)).
  for (const t of [-30, -2, -0.3, 0, 0.7, 4.2, 50]) {
    close(studentTCdf(t, 1), 0.5 + Math.atan(t) / Math.PI, 1e-13, `F(${t}, 1)`);
    close(studentTCdf(t, 2), 0.5 + t / (2 * Math.sqrt(2 + t * t)), 1e-13, `F(${t}, 2)`);
  }
});

test('Student t quantiles match the published t table (3 decimals)', () => {
  // Two-sided 95% (p = 0.975), one-sided 80% (p = 0.8) and 99% two-sided (p = 0.995) columns of
  // the usual t table (e.g. NIST/SEMATECH e-Handbook, table 1.3.6.7.2).
  const table: [number, number, number][] = [
    [0.975, 1, 12.706],
    [0.975, 2, 4.303],
    [0.975, 3, 3.182],
    [0.975, 4, 2.776],
    [0.975, 5, 2.571],
    [0.975, 9, 2.262],
    [0.975, 19, 2.093],
    [0.975, 30, 2.042],
    [0.975, 100, 1.984],
    [0.8, 4, 0.941],
    [0.8, 9, 0.883],
    [0.8, 19, 0.861],
    [0.9, 4, 1.533],
    [0.95, 9, 1.833],
    [0.995, 4, 4.604],
    [0.995, 9, 3.25],
  ];
  for (const [p, df, expected] of table)
    close(studentTQuantile(p, df), expected, 5e-4, `t(${p}, ${df})`);
  // Symmetric, the median at 0, and toward the normal quantile 1.95996 for many degrees of freedom.
  assert.equal(studentTQuantile(0.5, 7), 0);
  close(studentTQuantile(0.025, 4), -studentTQuantile(0.975, 4), 1e-12, 'symmetry');
  close(studentTQuantile(0.975, 1e6), 1.959964, 1e-5, 'normal limit');
  // The quantile inverts the CDF, also at fractional degrees of freedom (Welch).
  for (const df of [0.5, 3.7, 12.25])
    close(studentTCdf(studentTQuantile(0.9, df), df), 0.9, 1e-12, `df ${df}`);
  assert.throws(() => studentTQuantile(0.975, 0), /degrees of freedom/);
  assert.throws(() => studentTQuantile(1.5, 3), /p must be/);
});

test('the regularized incomplete beta function on values known in closed form', () => {
  // I_x(1, 1) = x; I_x(a, 1) = x^a; I_x(1, b) = 1 - (1 - x)^b; I_{1/2}(a, a) = 1/2.
  close(regularizedIncompleteBeta(0.3, 1, 1), 0.3, 1e-14, 'I(1,1)');
  close(regularizedIncompleteBeta(0.3, 2.5, 1), 0.3 ** 2.5, 1e-14, 'I(a,1)');
  close(regularizedIncompleteBeta(0.3, 1, 4), 1 - 0.7 ** 4, 1e-14, 'I(1,b)');
  close(regularizedIncompleteBeta(0.5, 7.5, 7.5), 0.5, 1e-14, 'I(a,a)');
});

test('a paired comparison worked by hand: differences 1, 2, 3, 4, 5', () => {
  const method = new Map([
    ['s0', 11],
    ['s1', 12],
    ['s2', 13],
    ['s3', 14],
    ['s4', 15],
  ]);
  // Baseline 10 on every seed, listed in another order: pairs go by key.
  const baseline = new Map(['s4', 's3', 's2', 's1', 's0'].map((k) => [k, 10]));
  const d = pairedDifferences(method, baseline);
  assert.deepEqual(d, [1, 2, 3, 4, 5]);
  // mean 3; squared deviations 4 + 1 + 0 + 1 + 4 = 10, sd = √(10 / 4) = 1.5811; se = sd / √5 = 0.70711.
  // 95%: 3 ± 2.776 · 0.70711 = 3 ± 1.963 -> [1.037, 4.963] (t_{0.975,4} = 2.776 from the table).
  const ci = tInterval(d);
  close(ci.mean, 3, 1e-12, 'mean');
  close(ci.sd, Math.sqrt(2.5), 1e-12, 'sd');
  close(ci.lower, 1.037, 1e-3, 'lower');
  close(ci.upper, 4.963, 1e-3, 'upper');
  // MDE = (2.776 + 0.941) · 0.70711 = 2.628.
  close(minimumDetectableEffect(ci.sd, 5), 2.628, 1e-3, 'mde');
  const e = pairedEvidence(d, { direction: 'greater' });
  assert.equal(e.verdict, 'reproduced');
  close(e.mde, 2.628, 1e-3, 'evidence mde');
  assert.equal(pairedEvidence(d, { direction: 'less' }).verdict, 'refuted');
  // Shifted down by 3 the interval [-1.963, 1.963] holds 0 either way.
  assert.equal(
    pairedEvidence(
      d.map((x) => x - 3),
      { direction: 'greater' },
    ).verdict,
    'inconclusive',
  );
});

test('the verdict is read from where the interval lies relative to 0', () => {
  assert.equal(directionalVerdict({ lower: 0.1, upper: 2 }, 'greater'), 'reproduced');
  assert.equal(directionalVerdict({ lower: 0.1, upper: 2 }, 'less'), 'refuted');
  assert.equal(directionalVerdict({ lower: -2, upper: -0.1 }, 'less'), 'reproduced');
  assert.equal(directionalVerdict({ lower: -2, upper: -0.1 }, 'greater'), 'refuted');
  assert.equal(directionalVerdict({ lower: -0.1, upper: 2 }, 'greater'), 'inconclusive');
  assert.equal(directionalVerdict({ lower: 0, upper: 2 }, 'greater'), 'inconclusive');
});

test('TOST: equivalence within a margin, worked by hand', () => {
  // Differences 0.1, -0.1, 0.2, 0, -0.2: mean 0, sd = √(0.1 / 4) = 0.15811, se = 0.070711.
  // 90% interval: 0 ± t_{0.95,4} · se = ± 2.132 · 0.070711 = ± 0.1508 (t_{0.95,4} = 2.132).
  const d = [0.1, -0.1, 0.2, 0, -0.2];
  const within = tost(d, 0.5);
  close(within.upper, 0.1508, 1e-3, 'upper');
  close(within.lower, -0.1508, 1e-3, 'lower');
  assert.ok(within.equivalent);
  // Each one-sided statistic is 0.5 / 0.070711 = 7.07 on 4 df: p = F(-7.07) ≈ 0.00106 (hand: 1 - F(7.07)).
  close(within.p, 1 - studentTCdf(0.5 / Math.sqrt(0.1 / 4 / 5), 4), 1e-12, 'p');
  assert.ok(within.p < 0.002 && within.p > 0.0005);
  // A margin of 0.15 sits inside the 90% interval: not shown.
  assert.ok(!tost(d, 0.15).equivalent);
  const e = pairedEvidence(d, { direction: 'equivalent', margin: 0.5 });
  assert.equal(e.verdict, 'reproduced');
  assert.equal(
    pairedEvidence(d, { direction: 'equivalent', margin: 0.15 }).verdict,
    'inconclusive',
  );
  // Differences far beyond the margin: the 95% interval lies wholly above it.
  assert.equal(
    pairedEvidence(
      d.map((x) => x + 3),
      { direction: 'equivalent', margin: 0.5 },
    ).verdict,
    'refuted',
  );
  assert.throws(() => pairedEvidence(d, { direction: 'equivalent' }), /margin/);
  // No spread: exactly the mean.
  assert.ok(tost([0.1, 0.1, 0.1], 0.5).equivalent);
  assert.ok(!tost([0.6, 0.6, 0.6], 0.5).equivalent);
});

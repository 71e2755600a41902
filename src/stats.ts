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
  return mean(pairedDifferences(a, b));
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

// ---- Student t: intervals, decisions and power over paired seeds ------------------------------
//
// The evidence protocol (bench/README.md, "Protocol") compares two arms seed by seed: the paired
// differences give a mean, a 95% t-interval, a verdict by where the interval lies, the minimum
// detectable effect at 80% power, and, for claims of equivalence, two one-sided tests (TOST).
// The t distribution is computed, not tabulated: its CDF is a regularized incomplete beta
// function (continued fraction, Numerical Recipes 6.4) and its quantile inverts that CDF by
// safeguarded Newton steps, to about 1e-12. No npm package is used: jstat is unmaintained and
// @stdlib's quantile pulls dozens of packages; these 80 lines are checked against closed forms
// (1 and 2 degrees of freedom) and published t tables in test/stats.test.ts.

/** log Γ(x) for x > 0 (Lanczos, g = 7, 9 terms; relative error about 1e-15). */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
    -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
    1.5056327351493116e-7,
  ];
  const z = x - 1;
  let sum = c[0];
  for (let i = 1; i < 9; i++) sum += c[i] / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** The continued fraction of the incomplete beta function (modified Lentz). */
function betaFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 10_000; m++) {
    const m2 = 2 * m;
    for (const aa of [
      (m * (b - m) * x) / ((a + m2 - 1) * (a + m2)),
      (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1)),
    ]) {
      d = 1 + aa * d;
      if (Math.abs(d) < tiny) d = tiny;
      c = 1 + aa / c;
      if (Math.abs(c) < tiny) c = tiny;
      d = 1 / d;
      h *= d * c;
    }
    if (Math.abs(d * c - 1) < 1e-15) return h;
  }
  throw new Error(`incomplete beta: no convergence at x = ${x}, a = ${a}, b = ${b}`);
}

/** The regularized incomplete beta function I_x(a, b), for 0 <= x <= 1 and a, b > 0. */
export function regularizedIncompleteBeta(x: number, a: number, b: number): number {
  if (!(x >= 0 && x <= 1) || !(a > 0) || !(b > 0)) {
    throw new RangeError(
      `incomplete beta: needs 0 <= x <= 1 and a, b > 0 (x ${x}, a ${a}, b ${b})`,
    );
  }
  if (x === 0 || x === 1) return x;
  const front = Math.exp(
    logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log1p(-x),
  );
  // The fraction converges fast below (a + 1) / (a + b + 2); above, use I_x(a, b) = 1 - I_{1-x}(b, a).
  return x < (a + 1) / (a + b + 2)
    ? (front * betaFraction(x, a, b)) / a
    : 1 - (front * betaFraction(1 - x, b, a)) / b;
}

function checkDf(df: number): void {
  if (!(df > 0) || !Number.isFinite(df)) {
    throw new RangeError(`Student t: degrees of freedom must be finite and > 0, got ${df}`);
  }
}

/** P(T > t) for t >= 0 (the upper tail, computed directly so that it keeps its precision). */
function upperTail(t: number, df: number): number {
  if (t === Infinity) return 0;
  return 0.5 * regularizedIncompleteBeta(df / (df + t * t), df / 2, 0.5);
}

/** The density of Student's t with `df` degrees of freedom. */
export function studentTPdf(t: number, df: number): number {
  checkDf(df);
  return Math.exp(
    logGamma((df + 1) / 2) -
      logGamma(df / 2) -
      0.5 * Math.log(df * Math.PI) -
      ((df + 1) / 2) * Math.log1p((t * t) / df),
  );
}

/** P(T <= t) for Student's t with `df` (> 0, not necessarily whole) degrees of freedom. */
export function studentTCdf(t: number, df: number): number {
  checkDf(df);
  if (Number.isNaN(t)) return NaN;
  return t >= 0 ? 1 - upperTail(t, df) : upperTail(-t, df);
}

/** The p-quantile of Student's t with `df` degrees of freedom: t_{p, df}, e.g. t_{0.975, 4} = 2.776. */
export function studentTQuantile(p: number, df: number): number {
  checkDf(df);
  if (!(p > 0 && p < 1)) {
    if (p === 0) return -Infinity;
    if (p === 1) return Infinity;
    throw new RangeError(`Student t quantile: p must be in [0, 1], got ${p}`);
  }
  if (p < 0.5) return -studentTQuantile(1 - p, df);
  if (p === 0.5) return 0;
  const tail = 1 - p;
  // Bracket the root of upperTail(t) = tail, then Newton steps kept inside the bracket.
  let lo = 0;
  let hi = 1;
  while (upperTail(hi, df) > tail) {
    lo = hi;
    hi *= 2;
    if (hi > 1e300) return Infinity;
  }
  let t = (lo + hi) / 2;
  for (let i = 0; i < 200; i++) {
    const f = upperTail(t, df) - tail;
    if (f > 0) lo = t;
    else hi = t;
    const newton = t + f / studentTPdf(t, df);
    const next = newton > lo && newton < hi ? newton : (lo + hi) / 2;
    if (Math.abs(next - t) <= 1e-13 * Math.max(1, t)) return next;
    t = next;
  }
  return t;
}

/** The differences a - b for the keys of a (seed s against seed s); every key of a must be in b. */
export function pairedDifferences<K>(
  a: ReadonlyMap<K, number>,
  b: ReadonlyMap<K, number>,
): number[] {
  return [...a].map(([key, value]) => {
    const other = b.get(key);
    if (other === undefined) throw new Error(`paired difference: key ${String(key)} has no pair`);
    return value - other;
  });
}

/** A two-sided t-interval for the mean of `xs`. */
export interface TInterval {
  n: number;
  mean: number;
  /** Sample standard deviation (n - 1). */
  sd: number;
  /** Standard error, sd / √n. */
  se: number;
  /** Confidence level, e.g. 0.95. */
  level: number;
  lower: number;
  upper: number;
}

/** The `level` (default 0.95) t-interval for the mean of `xs`: mean ± t_{(1+level)/2, n-1} · sd / √n. */
export function tInterval(xs: readonly number[], level = 0.95): TInterval {
  if (xs.length < 2) throw new RangeError(`t-interval: needs at least 2 values, got ${xs.length}`);
  if (!(level > 0 && level < 1))
    throw new RangeError(`t-interval: level must be in (0, 1), got ${level}`);
  const n = xs.length;
  const m = mean(xs);
  const sd = std(xs);
  const se = sd / Math.sqrt(n);
  const half = studentTQuantile((1 + level) / 2, n - 1) * se;
  return { n, mean: m, sd, se, level, lower: m - half, upper: m + half };
}

/**
 * The minimum detectable effect of a paired comparison of n seeds with spread `sd`: the true mean
 * difference that a two-sided test at `alpha` (0.05) finds with probability `power` (0.8),
 * (t_{1-α/2, n-1} + t_{power, n-1}) · sd / √n.
 */
export function minimumDetectableEffect(
  sd: number,
  n: number,
  opts: { alpha?: number; power?: number } = {},
): number {
  const { alpha = 0.05, power = 0.8 } = opts;
  if (n < 2) throw new RangeError(`minimum detectable effect: needs n >= 2, got ${n}`);
  return (
    ((studentTQuantile(1 - alpha / 2, n - 1) + studentTQuantile(power, n - 1)) * sd) / Math.sqrt(n)
  );
}

/** What a claim says about the paired difference (arm - baseline). */
export type ClaimDirection = 'greater' | 'less' | 'equivalent';
export type Verdict = 'reproduced' | 'refuted' | 'inconclusive';

/**
 * The verdict of a directional claim from its interval: reproduced when the interval excludes 0 on
 * the claimed side, refuted when it excludes 0 on the other side, inconclusive when it holds 0.
 */
export function directionalVerdict(
  interval: { lower: number; upper: number },
  direction: 'greater' | 'less',
): Verdict {
  const above = interval.lower > 0;
  const below = interval.upper < 0;
  if (!above && !below) return 'inconclusive';
  return above === (direction === 'greater') ? 'reproduced' : 'refuted';
}

/** Two one-sided tests of |mean| < margin. */
export interface Tost {
  margin: number;
  alpha: number;
  /** The 1 - 2α interval (90% at α = 0.05): equivalence is shown when it lies inside ±margin. */
  lower: number;
  upper: number;
  /** p of H0: mean <= -margin, and of H0: mean >= margin; p is the larger. */
  pLower: number;
  pUpper: number;
  p: number;
  equivalent: boolean;
}

/**
 * TOST (Schuirmann 1987): the mean of `xs` is shown within ±`margin` at level `alpha` (0.05) when
 * both one-sided tests reject, which is when the 1 - 2α t-interval lies inside (-margin, margin).
 */
export function tost(xs: readonly number[], margin: number, alpha = 0.05): Tost {
  if (!(margin > 0)) throw new RangeError(`TOST: the margin must be > 0, got ${margin}`);
  const ci = tInterval(xs, 1 - 2 * alpha);
  const df = ci.n - 1;
  // With sd = 0 the statistics are ±Infinity (or 0 / 0 exactly at the margin: not shown).
  const stat = (x: number) =>
    ci.se === 0 ? (x > 0 ? Infinity : x < 0 ? -Infinity : 0) : x / ci.se;
  const pLower = 1 - studentTCdf(stat(ci.mean + margin), df);
  const pUpper = studentTCdf(stat(ci.mean - margin), df);
  const p = Math.max(pLower, pUpper);
  return {
    margin,
    alpha,
    lower: ci.lower,
    upper: ci.upper,
    pLower,
    pUpper,
    p,
    equivalent: p < alpha,
  };
}

/** Everything the protocol reports of one primary comparison. */
export interface PairedEvidence {
  direction: ClaimDirection;
  /** The paired differences (arm - baseline), one per seed. */
  differences: number[];
  /** The 95% t-interval of their mean. */
  interval: TInterval;
  mde: number;
  verdict: Verdict;
  /** For equivalence claims only. */
  tost?: Tost;
}

/**
 * The protocol's decision on paired differences (arm - baseline, one per seed). Directional
 * claims: directionalVerdict on the 95% interval. Equivalence claims (`margin` required):
 * reproduced when TOST at α = 0.05 shows |difference| < margin, refuted when the 95% interval
 * lies wholly beyond the margin on one side, inconclusive otherwise.
 */
export function pairedEvidence(
  differences: readonly number[],
  claim: { direction: ClaimDirection; margin?: number },
): PairedEvidence {
  const interval = tInterval(differences, 0.95);
  const mde = minimumDetectableEffect(interval.sd, interval.n);
  const base = { direction: claim.direction, differences: [...differences], interval, mde };
  if (claim.direction !== 'equivalent') {
    return { ...base, verdict: directionalVerdict(interval, claim.direction) };
  }
  if (claim.margin === undefined) throw new Error('an equivalence claim needs its margin');
  const test = tost(differences, claim.margin);
  const beyond = interval.lower > claim.margin || interval.upper < -claim.margin;
  const verdict: Verdict = test.equivalent ? 'reproduced' : beyond ? 'refuted' : 'inconclusive';
  return { ...base, verdict, tost: test };
}

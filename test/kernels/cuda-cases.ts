/**
 * The op cases the native-kernel tests share: cuda-elements.test.ts runs them on the host build
 * of the CUDA kernels against the js oracle, cuda-device.test.ts on the GPU against both the
 * oracle and the host build. Each case says how far a float32 kernel may be from the float64
 * oracle, and whether the GPU and host builds must agree bit for bit (they run the same element
 * functions without FMA contraction; only float64 log/cos, used by Gaussian draws, and the
 * summation order of reductions may differ).
 */
import assert from 'node:assert/strict';
import type { FlatOps, FlatVector, RandomSpec, Segment } from '../../src/kernels/types.js';

/** Deterministic data in [-2, 2) (an LCG, independent of the Philox under test). */
export function data(seed: number, n: number, special = true): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32) * 4 - 2;
  }
  if (special && n > 41) {
    out[5] = NaN;
    out[17] = Infinity;
    out[18] = -Infinity;
    out[40] = -0;
    out[41] = 0;
  }
  return out;
}

const positive = (seed: number, n: number) => data(seed, n, false).map((x) => Math.abs(x) + 0.01);
const binary = (seed: number, n: number, below: number) =>
  data(seed, n, false).map((v) => (v > below ? 1 : 0));
/** Values on a grid of quarters: thousands of ties at every magnitude. */
const quarters = (seed: number, n: number) =>
  data(seed, n).map((v) => (Number.isFinite(v) ? Math.round(v * 4) / 4 : v));

export function assertClose(
  actual: Float32Array,
  expected: Float32Array,
  what: string,
  rtol: number,
  atol: number,
): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    const ok = Number.isFinite(e)
      ? Math.abs(a - e) <= atol + rtol * Math.abs(e)
      : Object.is(a, e) || (Number.isNaN(a) && Number.isNaN(e));
    // the message is built only on failure: this loop runs over millions of elements
    if (!ok) assert.fail(`${what}[${i}]: ${a} vs ${e}`);
  }
}

export function assertSameNumber(
  actual: number,
  expected: number,
  rtol: number,
  what: string,
): void {
  assert.ok(
    Object.is(actual, expected) || Math.abs(actual - expected) <= rtol * Math.abs(expected),
    `${what}: ${actual} vs ${expected}`,
  );
}

export interface OpCase {
  name: string;
  inputs: Float32Array[];
  /** Runs the op on vectors holding `inputs`; a returned number is compared too. */
  run: (ops: FlatOps, vs: FlatVector[]) => number | void;
  /** Allowed distance from the oracle: |a - e| <= atol + rtol |e| (rtol also for results). */
  rtol: number;
  atol: number;
  /** GPU and host builds agree bit for bit on vectors (and results). */
  sameBits: boolean;
}

export interface OpOutcome {
  result: number | void;
  outs: Float32Array[];
}

/** Uploads the inputs, runs the case, downloads every vector and frees them. */
export function runCase(ops: FlatOps, c: OpCase): OpOutcome {
  const vs = c.inputs.map((x) => ops.fromArray(x));
  const result = c.run(ops, vs);
  const outs = vs.map((v) => ops.download(v));
  vs.forEach((v) => ops.free(v));
  return { result, outs };
}

/** Checks `actual` against `expected` within the case's tolerances. */
export function assertOutcome(
  actual: OpOutcome,
  expected: OpOutcome,
  c: OpCase,
  label: string,
): void {
  expected.outs.forEach((e, k) =>
    assertClose(actual.outs[k], e, `${label} ${c.name}: vector ${k}`, c.rtol, c.atol),
  );
  if (typeof expected.result === 'number') {
    assertSameNumber(
      actual.result as number,
      expected.result,
      Math.max(c.rtol, 1e-12),
      `${label} ${c.name}: result`,
    );
  }
}

const EXACT = { rtol: 0, atol: 0, sameBits: true };
/** float32 arithmetic against the float64 oracle, a few roundings. */
const ELEMENT = { rtol: 1e-6, atol: 1e-6, sameBits: true };
/** optimizer steps: sqrt, division and more terms. */
const STEP = { rtol: 1e-5, atol: 1e-6, sameBits: true };
/** reductions: float64 sums in another order. */
const REDUCE = { rtol: 1e-9, atol: 0, sameBits: false };
/** Gaussian draws: the 1e-6 contract of types.ts; float64 log/cos may differ in the last bit. */
const GAUSSIAN = { rtol: 1e-6, atol: 1e-6, sameBits: false };

/** Every FlatOps op of the native backend on vectors of length n (odd lengths test the tails). */
export function opCases(n: number): OpCase[] {
  const d = (seed: number) => data(seed, n);
  const finite = (seed: number) => data(seed, n, false);
  const masks = (seed: number) => [binary(seed, n, -1.5), binary(seed + 1, n, 0)];
  const cases: OpCase[] = [
    { name: 'fill', inputs: [d(1)], run: (o, [x]) => o.fill(x, -2.5), ...EXACT },
    { name: 'copy', inputs: [d(2), d(3)], run: (o, [dst, src]) => o.copy(dst, src), ...EXACT },
    { name: 'scale', inputs: [d(4)], run: (o, [x]) => o.scale(x, 0.3), ...ELEMENT },
    { name: 'axpy', inputs: [d(5), d(6)], run: (o, [y, x]) => o.axpy(y, -1.7, x), ...ELEMENT },
    {
      name: 'mul',
      inputs: [d(7), d(8), d(9)],
      run: (o, [out, a, b]) => o.mul(out, a, b),
      ...EXACT,
    },
    {
      name: 'applyMask',
      inputs: [d(10), binary(11, n, 0)],
      run: (o, [x, m]) => o.applyMask(x, m),
      ...EXACT,
    },
    {
      name: 'lookaheadSync',
      inputs: [d(12), d(13)],
      run: (o, [s, f]) => o.lookaheadSync(s, f, 0.5),
      ...ELEMENT,
    },
    {
      name: 'runningMean',
      inputs: [d(14), d(15)],
      run: (o, [a, x]) => o.runningMean(a, x, 6),
      ...ELEMENT,
    },
    { name: 'ema', inputs: [d(16), d(17)], run: (o, [a, x]) => o.ema(a, x, 0.999), ...ELEMENT },
    {
      name: 'lerp',
      inputs: [d(18), d(19), d(20)],
      run: (o, [out, a, b]) => o.lerp(out, a, b, 0.3),
      ...ELEMENT,
    },
    {
      name: 'bezier',
      inputs: [d(21), d(22), d(23), d(24)],
      run: (o, [out, a, bend, b]) => o.bezier(out, a, bend, b, 0.7),
      ...ELEMENT,
    },
  ];
  // 11 models: more than one launch's worth of terms (8), so the accumulate path runs too.
  const weights = Array.from({ length: 11 }, (_, k) => (k + 1) / 66);
  cases.push({
    name: 'weightedSum of 11',
    inputs: [d(25), ...weights.map((_, k) => finite(26 + k))],
    run: (o, [out, ...xs]) => o.weightedSum(out, xs, weights),
    ...ELEMENT,
  });
  for (const decoupled of [true, false]) {
    for (const amsgrad of [false, true]) {
      const h = {
        lr: 1e-2,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weightDecay: 0.05,
        decoupled,
        step: 3,
      };
      cases.push({
        name: `adam decoupled=${decoupled} amsgrad=${amsgrad}`,
        inputs: [d(40), d(41), finite(42), positive(43, n), positive(44, n), ...masks(45)],
        run: (o, [p, g, m, v, vMax, lrMask, decayMask]) =>
          o.adam(p, g, m, v, amsgrad ? vMax : null, h, { lrMask, decayMask }),
        ...STEP,
      });
    }
  }
  const sgdCases = [
    { momentum: 0, dampening: 0, nesterov: false, decoupled: false, step: 1 },
    { momentum: 0.9, dampening: 0, nesterov: false, decoupled: false, step: 1 },
    { momentum: 0.9, dampening: 0.1, nesterov: false, decoupled: true, step: 4 },
    { momentum: 0.9, dampening: 0, nesterov: true, decoupled: false, step: 2 },
  ];
  for (const c of sgdCases) {
    const h = { lr: 0.1, weightDecay: 1e-3, ...c };
    cases.push({
      name: `sgd ${JSON.stringify(c)}`,
      inputs: [d(50), d(51), d(52), ...masks(53)],
      run: (o, [p, g, buf, lrMask, decayMask]) =>
        o.sgd(p, g, c.momentum === 0 ? null : buf, h, { lrMask, decayMask }),
      ...STEP,
    });
  }
  const langevin = {
    eta: 0.01,
    gamma: 0.03,
    noise: 1e-3,
    alpha: 0.75,
    seed: 2 ** 40 + 7,
    stream: 3,
  };
  cases.push({
    name: 'langevinStep',
    inputs: [d(60), d(61), d(62), d(63)],
    run: (o, [xp, g, x, mu]) => o.langevinStep(xp, g, x, mu, langevin),
    ...STEP,
    sameBits: false,
  });

  const f = finite(70);
  cases.push(
    { name: 'dot', inputs: [f, finite(71)], run: (o, [a, b]) => o.dot(a, b), ...REDUCE },
    { name: 'sumSquares', inputs: [f], run: (o, [x]) => o.sumSquares(x), ...REDUCE },
    {
      name: 'clipByGlobalNorm',
      inputs: [f],
      run: (o, [g]) => o.clipByGlobalNorm(g, 1),
      ...STEP,
      sameBits: false,
    },
    { name: 'maxAbs finite', inputs: [f], run: (o, [x]) => o.maxAbs(x), ...EXACT },
    { name: 'maxAbs with NaN and Inf', inputs: [d(72)], run: (o, [x]) => o.maxAbs(x), ...EXACT },
    { name: 'countNonFinite', inputs: [d(73)], run: (o, [x]) => o.countNonFinite(x), ...EXACT },
    { name: 'countZeros', inputs: [d(74)], run: (o, [x]) => o.countZeros(x), ...EXACT },
  );

  // A seed above 2^32 (both key words) and a non-zero stream.
  for (const distribution of ['uniform', 'rademacher', 'gaussian'] as const) {
    const spec = { seed: 2 ** 45 + 12345, stream: 77, distribution };
    cases.push({
      name: `random ${distribution}`,
      inputs: [new Float32Array(n)],
      run: (o, [out]) => o.random(out, spec),
      ...(distribution === 'gaussian' ? GAUSSIAN : EXACT),
    });
  }
  const spec: RandomSpec = { seed: 99, stream: 1, distribution: 'gaussian' };
  cases.push({
    name: 'perturb',
    inputs: [finite(80)],
    run: (o, [x]) => o.perturb(x, 0.05, spec),
    ...GAUSSIAN,
  });
  cases.push({
    name: 'perturb per segment',
    inputs: [finite(81)],
    run: (o, [x]) => o.perturb(x, 0.05, spec, perturbSegments(n)),
    ...STEP,
    sameBits: false,
  });

  const segments = pruneSegments(n);
  const total = segments.reduce((s, seg) => s + seg.length, 0);
  const counts = [
    0,
    1,
    Math.floor(total / 3),
    Math.floor(total / 2) + 1,
    Math.floor(0.9 * total),
    total - 1,
    total,
  ];
  for (const count of counts) {
    for (const [label, x] of [
      ['quarters', quarters(90, n)],
      ['uniform', d(91)],
    ] as const) {
      cases.push({
        name: `magnitudeMask ${label} count=${count}`,
        // entries outside the segments must keep their 7
        inputs: [x, new Float32Array(n).fill(7)],
        run: (o, [xv, mask]) => {
          const r = o.magnitudeMask(xv, mask, segments, count);
          assert.equal(r.pruned, count);
          return r.threshold;
        },
        ...EXACT,
      });
    }
  }
  return cases;
}

/** Three disjoint segments, out of order, with gaps (a union of several GPU chunks when n is large). */
function pruneSegments(n: number): Segment[] {
  const a = Math.floor(n * 0.1);
  const b = Math.floor(n * 0.55);
  return [
    { offset: b + 3, length: n - b - 3 },
    { offset: 1, length: a },
    { offset: a + 7, length: b - a - 9 },
  ];
}

/** Odd-sized, unaligned segments: one entry, a small one, a large one; the rest untouched. */
function perturbSegments(n: number): Segment[] {
  const big = Math.floor(n / 2);
  return [
    { offset: big + 1, length: n - big - 2 },
    { offset: 3, length: Math.min(250, big - 10) },
    { offset: big - 5, length: 1 },
  ];
}

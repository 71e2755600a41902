/**
 * One suite for every FlatOps backend present (js, wasm, and cuda when it loads here), against
 * the js oracle and against values derived in this file.
 *
 * Tolerances (see assertClose in helpers.ts for what "scale" means):
 * - upload/download/fill/copy, mul, applyMask, uniform and Rademacher draws, counts, maxAbs and
 *   pruning masks: exact.
 * - element-wise and averaging ops: rtol 1e-6 (float32 arithmetic vs float64 rounded once).
 * - optimizer steps, Langevin, normalised perturbation: rtol 1e-5 (sqrt, division, more terms).
 * - Gaussian draws: 1e-6 relative or absolute (the contract in types.ts).
 * - dot/sumSquares: 1e-5 of sum |a_i b_i| (float32 blocked sums allowed); where the float64 sum
 *   exceeds float32's range a backend may return +Infinity.
 * - hand-derived optimizer trajectories: rtol 1e-5 (float32 state between steps).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FlatOps, FlatVector, RandomSpec, Segment } from '../../src/kernels/index.js';
import {
  ADAMW,
  FLOAT32_BELOW_ONE_BITS,
  UNIFORM_TOP_WORDS,
  assertClose,
  assertKernelError,
  assertNear,
  assertSameBits,
  backendsUnderTest,
  binaryMask,
  inputScale,
  oracle,
  ordinary,
  prng,
  run,
  runBoth,
  special,
} from './helpers.js';
import { minOf } from '../../src/stats.js';
import { philox4x32, seedKey } from '../../src/kernels/philox.js';

const sizeRand = prng(2024);
/** Tails of 4-lane loops and of GPU grids: 0, 1, 3, 4, 5, 1023, 1e6+1, and two random sizes. */
const SIZES = [
  0,
  1,
  3,
  4,
  5,
  1023,
  1_000_001,
  ...[0, 1].map(() => 6 + Math.floor(sizeRand() * 3000)),
];

type Op<R = unknown> = (o: FlatOps, vs: FlatVector[]) => R;
interface Case {
  name: string;
  inputs: Float32Array[];
  op: Op;
  rtol: number;
}

/** Runs every case on `ops` and the oracle; compares every vector and a numeric result. */
function checkCases(ops: FlatOps, cases: readonly Case[]): void {
  for (const { name, inputs, op, rtol } of cases) {
    const { got, want } = runBoth(ops, inputs, op);
    const scale = inputScale(inputs, inputs[0].length);
    got.vectors.forEach((v, k) =>
      assertClose(v, want.vectors[k], rtol, `${name}: vector ${k}`, scale, inputs[k]),
    );
    if (typeof want.result === 'number') {
      assertNear(got.result as number, want.result, rtol, Math.abs(want.result), `${name}: result`);
    }
  }
}

const squares = (x: Float32Array) => x.map((v) => v * v);
const scaled = (x: Float32Array, s: number) => x.map((v) => v * s);

/** Two disjoint segments, listed out of order, with gaps around them (or the whole of a short vector). */
function twoSegments(n: number): Segment[] {
  if (n < 4) return [{ offset: 0, length: n }];
  const half = Math.floor(n / 2);
  return [
    { offset: half, length: n - half - 1 },
    { offset: 1, length: Math.floor(n / 3) },
  ];
}

function optimizerCases(n: number): Case[] {
  const p = ordinary(n, 11);
  const g = ordinary(n, 12);
  const m = scaled(ordinary(n, 13), 0.1);
  // Second moments bounded away from 0: with v = 0 the step is m / |g|, and a gradient that
  // cancels in g + decay * p then amplifies float32 rounding beyond any fixed tolerance.
  const v = squares(ordinary(n, 14)).map((x) => 0.01 * x + 1e-6);
  const vMax = squares(ordinary(n, 15)).map((x) => 0.01 * x + 1e-6);
  const lrMask = binaryMask(n, 16);
  const decayMask = binaryMask(n, 17);
  const buf = ordinary(n, 18);
  const gNonFinite = g.map((x, i) => (i % 7 === 0 ? NaN : i % 7 === 3 ? Infinity : x));
  const sgd = {
    lr: 0.05,
    momentum: 0.9,
    dampening: 0.1,
    nesterov: false,
    weightDecay: 1e-4,
    decoupled: false,
  };
  return [
    {
      name: 'adamw',
      inputs: [p, g, m, v],
      op: (o, [P, G, M, V]) => o.adam(P, G, M, V, null, ADAMW),
      rtol: 1e-5,
    },
    {
      name: 'adamw amsgrad with masks',
      inputs: [p, g, m, v, vMax, lrMask, decayMask],
      op: (o, [P, G, M, V, VM, L, D]) => o.adam(P, G, M, V, VM, ADAMW, { lrMask: L, decayMask: D }),
      rtol: 1e-5,
    },
    {
      name: 'adam with L2 decay, step 1',
      inputs: [p, g, m, v],
      op: (o, [P, G, M, V]) => o.adam(P, G, M, V, null, { ...ADAMW, decoupled: false, step: 1 }),
      rtol: 1e-5,
    },
    {
      name: 'adamw with NaN and Inf gradients',
      inputs: [p, gNonFinite, m, v],
      op: (o, [P, G, M, V]) => o.adam(P, G, M, V, null, ADAMW),
      rtol: 1e-5,
    },
    {
      name: 'sgd without momentum',
      inputs: [p, g],
      op: (o, [P, G]) => o.sgd(P, G, null, { ...sgd, momentum: 0, dampening: 0, step: 4 }),
      rtol: 1e-5,
    },
    {
      name: 'sgd momentum, first step',
      inputs: [p, g, buf],
      op: (o, [P, G, B]) => o.sgd(P, G, B, { ...sgd, step: 1 }),
      rtol: 1e-5,
    },
    {
      name: 'sgd momentum with dampening',
      inputs: [p, g, buf],
      op: (o, [P, G, B]) => o.sgd(P, G, B, { ...sgd, step: 5 }),
      rtol: 1e-5,
    },
    {
      name: 'sgdw nesterov with masks',
      inputs: [p, g, buf, lrMask, decayMask],
      op: (o, [P, G, B, L, D]) =>
        o.sgd(
          P,
          G,
          B,
          { ...sgd, dampening: 0, nesterov: true, decoupled: true, step: 2 },
          { lrMask: L, decayMask: D },
        ),
      rtol: 1e-5,
    },
    {
      name: 'lookaheadSync',
      inputs: [p, g],
      op: (o, [S, F]) => o.lookaheadSync(S, F, 0.5),
      rtol: 1e-6,
    },
    {
      name: 'langevinStep',
      inputs: [p, g, buf, m],
      op: (o, [XP, G, X, MU]) =>
        o.langevinStep(XP, G, X, MU, {
          eta: 0.01,
          gamma: 0.03,
          noise: 0.01,
          alpha: 0.25,
          seed: 9,
          stream: 3,
        }),
      rtol: 1e-5,
    },
  ];
}

function averagingCases(n: number): Case[] {
  const out = new Float32Array(n);
  const [a, b, c] = [1, 2, 3].map((k) => special(n, 20 + k, k));
  return [
    { name: 'runningMean', inputs: [a, b], op: (o, [A, X]) => o.runningMean(A, X, 3), rtol: 1e-6 },
    { name: 'ema', inputs: [a, b], op: (o, [A, X]) => o.ema(A, X, 0.9), rtol: 1e-6 },
    {
      name: 'weightedSum of 3',
      inputs: [out, a, b, c],
      op: (o, [O, ...xs]) => o.weightedSum(O, xs, [0.2, -0.5, 1.3]),
      rtol: 1e-6,
    },
    {
      name: 'weightedSum of 1',
      inputs: [out, a],
      op: (o, [O, A]) => o.weightedSum(O, [A], [0.7]),
      rtol: 1e-6,
    },
    { name: 'weightedSum of none', inputs: [b], op: (o, [O]) => o.weightedSum(O, [], []), rtol: 0 },
    {
      name: 'weightedSum of a repeated vector',
      inputs: [out, a, b],
      op: (o, [O, A, B]) => o.weightedSum(O, [A, B, A], [0.5, 2, 0.25]),
      rtol: 1e-6,
    },
    { name: 'lerp', inputs: [out, a, b], op: (o, [O, A, B]) => o.lerp(O, A, B, 0.3), rtol: 1e-6 },
    { name: 'lerp in place', inputs: [a, b], op: (o, [A, B]) => o.lerp(B, A, B, 0.3), rtol: 1e-6 },
    {
      name: 'bezier',
      inputs: [out, a, b, c],
      op: (o, [O, A, C, B]) => o.bezier(O, A, C, B, 0.25),
      rtol: 1e-6,
    },
    {
      name: 'bezier in place on its end point',
      inputs: [a, b, c],
      op: (o, [A, C, B]) => o.bezier(B, A, C, B, 0.25),
      rtol: 1e-6,
    },
    {
      name: 'bezier in place on its bend, bend = a',
      inputs: [a, c],
      op: (o, [A, B]) => o.bezier(A, A, A, B, 0.6),
      rtol: 1e-6,
    },
  ];
}

/** dot/sumSquares: 1e-5 of sum |a_i b_i|, or +-Infinity where that sum leaves float32's range. */
function assertDot(got: number, a: Float32Array, b: Float32Array, what: string): void {
  let sum = 0;
  let sumAbs = 0;
  for (let i = 0; i < a.length; i++) {
    sum += a[i] * b[i];
    sumAbs += Math.abs(a[i] * b[i]);
  }
  if (Number.isNaN(sum)) return assert.ok(Number.isNaN(got), `${what}: got ${got}, want NaN`);
  if (sumAbs > 3.4028234663852886e38 && !Number.isFinite(got)) return;
  assertNear(got, sum, 1e-5, sumAbs, what);
}

for (const backend of backendsUnderTest()) {
  describe(`FlatOps on ${backend.name}`, { skip: backend.skip }, () => {
    let ops: FlatOps;
    before(() => {
      ops = backend.create();
    });
    after(() => ops.dispose());

    for (const n of SIZES) {
      describe(`n = ${n}`, () => {
        test('vectors: alloc gives zeros; upload, download, fill and copy are exact', () => {
          const x = special(n, 1, 0);
          const v = ops.alloc(n);
          assertSameBits(ops.download(v), new Float32Array(n), 'alloc');
          ops.upload(v, x);
          assertSameBits(ops.download(v), x, 'upload/download');
          const out = new Float32Array(n);
          assert.equal(ops.download(v, out), out, 'download into out returns out');
          assertSameBits(out, x, 'download into out');
          if (n >= 3) {
            ops.upload(v, x.subarray(0, 2), n - 2);
            const expected = x.slice();
            expected.set(x.subarray(0, 2), n - 2);
            assertSameBits(ops.download(v), expected, 'upload at an offset');
          }
          const w = ops.fromArray(x);
          ops.fill(v, -2.5);
          assertSameBits(ops.download(v), new Float32Array(n).fill(-2.5), 'fill');
          ops.copy(v, w);
          assertSameBits(ops.download(v), x, 'copy');
          assert.equal(v.length, n);
          assert.equal(v.backend, backend.name);
          ops.free(v);
          ops.free(w);
          assert.equal(v.alive, false);
        });

        test('element-wise: scale, axpy, mul, applyMask', () => {
          const [x, y] = [special(n, 1, 0), special(n, 2, 1)];
          checkCases(ops, [
            { name: 'scale', inputs: [x], op: (o, [X]) => o.scale(X, -1.3), rtol: 1e-6 },
            { name: 'axpy', inputs: [y, x], op: (o, [Y, X]) => o.axpy(Y, 0.75, X), rtol: 1e-6 },
            {
              name: 'mul',
              inputs: [new Float32Array(n), x, y],
              op: (o, [O, A, B]) => o.mul(O, A, B),
              rtol: 0,
            },
            {
              name: 'applyMask',
              inputs: [x, binaryMask(n, 3)],
              op: (o, [X, M]) => o.applyMask(X, M),
              rtol: 0,
            },
          ]);
        });

        test('optimizer steps: Adam(W), AMSGrad, SGD(W), Nesterov, masks, Lookahead, Langevin', () => {
          checkCases(ops, optimizerCases(n));
        });

        test('averaging: runningMean, ema, weightedSum, lerp, bezier', () => {
          checkCases(ops, averagingCases(n));
        });

        test('reductions: dot, sumSquares, maxAbs, countNonFinite, countZeros, clipByGlobalNorm(Into)', () => {
          const [a, b] = [ordinary(n, 31), ordinary(n, 32)];
          const s = special(n, 33, 0);
          const [dot, sumSquares] = run(ops, [a, b], (o, [A, B]) => [
            o.dot(A, B),
            o.sumSquares(A),
          ]).result;
          assertDot(dot, a, b, 'dot');
          assertDot(sumSquares, a, a, 'sumSquares');
          // Non-finite and huge values: counted exactly, NaN propagates, overflow may give Infinity.
          const stats = (o: FlatOps, [X]: FlatVector[]) => [
            o.maxAbs(X),
            o.countNonFinite(X),
            o.countZeros(X),
          ];
          for (const data of [s, a]) {
            const both = runBoth(ops, [data], stats);
            assert.deepEqual(
              both.got.result,
              both.want.result,
              'maxAbs, countNonFinite, countZeros',
            );
          }
          assertDot(
            run(ops, [s], (o, [X]) => o.sumSquares(X)).result,
            s,
            s,
            'sumSquares of special values',
          );
          // clipping: one case above maxNorm (scaled), one below (unchanged)
          const norm = Math.sqrt(a.reduce((sum, x) => sum + x * x, 0));
          for (const maxNorm of [0.5 * norm, 2 * norm + 1]) {
            const clip = runBoth(ops, [a], (o, [G]) => o.clipByGlobalNorm(G, maxNorm));
            assertNear(clip.got.result, norm, 1e-5, norm, 'clipByGlobalNorm: returned norm');
            const clipped = clip.got.vectors[0];
            assertClose(
              clipped,
              clip.want.vectors[0],
              1e-5,
              'clipByGlobalNorm: g',
              inputScale([a], n),
              a,
            );
            // Queued: the same scaling, the norm (a float) left in a one-float vector.
            const into = run(ops, [a, new Float32Array(1)], (o, [G, N]) =>
              o.clipByGlobalNormInto(G, maxNorm, N),
            );
            assertSameBits(into.vectors[0], clipped, 'clipByGlobalNormInto: g');
            assert.equal(into.vectors[1][0], Math.fround(clip.got.result), 'the norm as a float');
          }
        });

        test('random: uniform and Rademacher bit for bit, Gaussian within 1e-6; perturb', () => {
          const specs: RandomSpec[] = [
            { seed: 0, stream: 0, distribution: 'uniform' },
            { seed: 2 ** 53 - 1, stream: 2 ** 32 - 1, distribution: 'uniform' },
            { seed: 2 ** 32 + 5, stream: 7, distribution: 'rademacher' },
          ];
          for (const spec of specs) {
            const { got, want } = runBoth(ops, [new Float32Array(n)], (o, [O]) =>
              o.random(O, spec),
            );
            assertSameBits(got.vectors[0], want.vectors[0], `random ${JSON.stringify(spec)}`);
          }
          const gaussian: RandomSpec = { seed: 123456789, stream: 4, distribution: 'gaussian' };
          const { got, want } = runBoth(ops, [new Float32Array(n)], (o, [O]) =>
            o.random(O, gaussian),
          );
          // 1e-6 relative or 1e-6 absolute: a scale of at least 1.
          const atLeastOne = new Float64Array(n).fill(1);
          assertClose(got.vectors[0], want.vectors[0], 1e-6, 'random gaussian', atLeastOne);

          const x = ordinary(n, 41);
          checkCases(ops, [
            {
              name: 'perturb',
              inputs: [x],
              op: (o, [X]) => o.perturb(X, 0.1, gaussian),
              rtol: 1e-6,
            },
            {
              name: 'perturb with segments',
              inputs: [x],
              op: (o, [X]) =>
                o.perturb(X, 0.1, { ...gaussian, distribution: 'rademacher' }, twoSegments(n)),
              rtol: 1e-5,
            },
          ]);
        });

        test('magnitudeMask: same mask and threshold as the oracle, global and per segment', () => {
          const x = special(n, 51, 0);
          const untouched = new Float32Array(n).fill(7);
          const segments = twoSegments(n);
          const total = segments.reduce((sum, s) => sum + s.length, 0);
          for (const count of [0, 1, Math.floor(total / 2), total].filter((c) => c <= total)) {
            const { got, want } = runBoth(ops, [x, untouched], (o, [X, M]) =>
              o.magnitudeMask(X, M, segments, count),
            );
            assertSameBits(got.vectors[1], want.vectors[1], `mask, count ${count}`);
            assert.deepEqual(got.result, want.result, `threshold, count ${count}`);
            const zeros = got.vectors[1].reduce((z, m) => z + (m === 0 ? 1 : 0), 0);
            assert.equal(zeros, count, 'exactly count entries zeroed');
          }
          const perSegment = runBoth(ops, [x, untouched], (o, [X, M]) =>
            segments.map((s) => o.magnitudeMask(X, M, [s], Math.floor(s.length / 3))),
          );
          assertSameBits(perSegment.got.vectors[1], perSegment.want.vectors[1], 'per-segment mask');
        });
      });
    }

    test('Adam/AdamW: 3 steps against the textbook recurrence, with masks and AMSGrad', () => {
      // Per element: p0, gradients of 3 steps, lrMask, decayMask. Element 1 is frozen (lrMask 0),
      // element 2 has no decay; the gradients shrink so that AMSGrad's max matters.
      const p0 = [1, -0.5, 2, 0.25, -3];
      const grads = [
        [0.5, 1, -2, 0.1, 3],
        [0.05, -1, -1, 0.2, 0.3],
        [0.005, 0.5, 0.5, -0.1, 0.03],
      ];
      const lrMask = [1, 0, 1, 0.5, 1];
      const decayMask = [1, 1, 0, 1, 1];
      for (const decoupled of [true, false]) {
        for (const amsgrad of [false, true]) {
          const h = { lr: 0.1, beta1: 0.8, beta2: 0.9, eps: 1e-8, weightDecay: 0.05, decoupled };
          // Textbook Adam (Kingma & Ba) with decay added as in torch.optim: mHat, vHat bias-corrected.
          const expected = p0.map((p, i) => {
            let m = 0;
            let v = 0;
            let vMax = 0;
            for (let t = 1; t <= 3; t++) {
              let g = grads[t - 1][i];
              const lr = h.lr * lrMask[i];
              const wd = h.weightDecay * decayMask[i];
              if (decoupled) p = p - lr * wd * p;
              else g = g + wd * p;
              m = h.beta1 * m + (1 - h.beta1) * g;
              v = h.beta2 * v + (1 - h.beta2) * g * g;
              vMax = Math.max(vMax, v);
              const mHat = m / (1 - h.beta1 ** t);
              const vHat = (amsgrad ? vMax : v) / (1 - h.beta2 ** t);
              p = p - (lr * mHat) / (Math.sqrt(vHat) + h.eps);
            }
            return p;
          });
          const n = p0.length;
          const { vectors } = run(
            ops,
            [
              Float32Array.from(p0),
              new Float32Array(n),
              new Float32Array(n),
              new Float32Array(n),
              new Float32Array(n),
            ],
            (o, [P, G, M, V, VM]) => {
              const masks = {
                lrMask: o.fromArray(Float32Array.from(lrMask)),
                decayMask: o.fromArray(Float32Array.from(decayMask)),
              };
              for (let t = 1; t <= 3; t++) {
                o.upload(G, Float32Array.from(grads[t - 1]));
                o.adam(P, G, M, V, amsgrad ? VM : null, { ...h, step: t }, masks);
              }
              o.free(masks.lrMask);
              o.free(masks.decayMask);
            },
          );
          assertClose(
            vectors[0],
            Float32Array.from(expected),
            1e-5,
            `adam decoupled=${decoupled} amsgrad=${amsgrad}`,
          );
          assert.equal(vectors[0][1], -0.5, 'lrMask 0 freezes the element');
        }
      }
      // Step 1 without decay moves every element by lr (1 - tiny): m/sqrt(v) = sign(g) after bias correction.
      const { vectors } = run(
        ops,
        [
          Float32Array.from([1, 1]),
          Float32Array.from([0.5, -4]),
          new Float32Array(2),
          new Float32Array(2),
        ],
        (o, [P, G, M, V]) =>
          o.adam(P, G, M, V, null, {
            lr: 0.1,
            beta1: 0.9,
            beta2: 0.999,
            eps: 0,
            weightDecay: 0,
            decoupled: true,
            step: 1,
          }),
      );
      assertClose(vectors[0], Float32Array.from([0.9, 1.1]), 1e-6, 'adam step 1 moves by lr');
    });

    test('SGD: 3 steps by hand (momentum 0.9: 0.9, 0.71, 0.439; Nesterov: 0.81, 0.539, 0.1951) and by recurrence', () => {
      const trajectory = (hyper: { nesterov: boolean }) =>
        run(
          ops,
          [Float32Array.from([1]), Float32Array.from([1]), new Float32Array(1)],
          (o, [P, G, B]) =>
            [1, 2, 3].map((step) => {
              o.sgd(P, G, B, {
                lr: 0.1,
                momentum: 0.9,
                dampening: 0,
                weightDecay: 0,
                decoupled: false,
                step,
                ...hyper,
              });
              return o.download(P)[0];
            }),
        ).result;
      assertClose(
        Float32Array.from(trajectory({ nesterov: false })),
        Float32Array.from([0.9, 0.71, 0.439]),
        1e-6,
        'momentum',
      );
      assertClose(
        Float32Array.from(trajectory({ nesterov: true })),
        Float32Array.from([0.81, 0.539, 0.1951]),
        1e-6,
        'nesterov',
      );

      // The torch.optim.SGD recurrence, per element, with decay, dampening and masks.
      const p0 = [1, -2, 0.5, 3];
      const grads = [
        [0.3, -1, 2, 0.5],
        [0.1, 0.5, -1, 0.5],
        [-0.2, 0.25, 0.5, 0.5],
      ];
      const lrMask = [1, 0.5, 0, 1];
      const decayMask = [1, 0, 1, 1];
      const configs = [
        { momentum: 0.9, dampening: 0.3, nesterov: false, decoupled: false },
        { momentum: 0.9, dampening: 0, nesterov: true, decoupled: true },
        { momentum: 0, dampening: 0, nesterov: false, decoupled: true },
      ];
      for (const c of configs) {
        const h = { lr: 0.2, weightDecay: 0.1, ...c };
        const expected = p0.map((p, i) => {
          let buf = 0;
          for (let t = 1; t <= 3; t++) {
            const lr = h.lr * lrMask[i];
            const wd = h.weightDecay * decayMask[i];
            let d = grads[t - 1][i];
            if (h.decoupled) p = p * (1 - lr * wd);
            else d = d + wd * p;
            if (h.momentum !== 0) {
              buf = t === 1 ? d : h.momentum * buf + (1 - h.dampening) * d;
              d = h.nesterov ? d + h.momentum * buf : buf;
            }
            p = p - lr * d;
          }
          return p;
        });
        const n = p0.length;
        const { vectors } = run(
          ops,
          [Float32Array.from(p0), new Float32Array(n), new Float32Array(n)],
          (o, [P, G, B]) => {
            const masks = {
              lrMask: o.fromArray(Float32Array.from(lrMask)),
              decayMask: o.fromArray(Float32Array.from(decayMask)),
            };
            for (let t = 1; t <= 3; t++) {
              o.upload(G, Float32Array.from(grads[t - 1]));
              o.sgd(P, G, h.momentum ? B : null, { ...h, step: t }, masks);
            }
            o.free(masks.lrMask);
            o.free(masks.decayMask);
          },
        );
        assertClose(vectors[0], Float32Array.from(expected), 1e-5, `sgd ${JSON.stringify(c)}`);
      }
    });

    test('averaging: runningMean over 4 vectors is their mean; lookahead leaves fast == slow', () => {
      const xs = [0, 1, 2, 3].map((k) => ordinary(1001, 60 + k));
      const mean = xs[0].map((_, i) => xs.reduce((s, x) => s + x[i], 0) / xs.length);
      const { vectors } = run(ops, [new Float32Array(1001), ...xs], (o, [avg, ...vs]) =>
        vs.forEach((v, count) => o.runningMean(avg, v, count)),
      );
      assertClose(vectors[0], mean, 1e-6, 'runningMean', inputScale(xs, 1001));
      const la = run(ops, xs.slice(0, 2), (o, [S, F]) => o.lookaheadSync(S, F, 0.5));
      assertSameBits(la.vectors[1], la.vectors[0], 'fast = slow');
    });

    test('random: Philox known answer at (seed 0, stream 0, i 0) and distribution moments', () => {
      // Random123 kat_vectors: philox4x32_10(ctr 0, key 0) = 6627e8d5 e169c58d ...
      const [w0, w1] = [0x6627e8d5, 0xe169c58d];
      const u1 = (w0 + 0.5) / 2 ** 32;
      const u2 = (w1 + 0.5) / 2 ** 32;
      const first = (distribution: RandomSpec['distribution']) =>
        run(ops, [new Float32Array(1)], (o, [O]) =>
          o.random(O, { seed: 0, stream: 0, distribution }),
        ).vectors[0][0];
      assert.equal(first('uniform'), Math.fround(u1));
      assert.equal(first('rademacher'), 1); // w0 is odd
      assertNear(
        first('gaussian'),
        Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2),
        1e-6,
        1,
        'gaussian',
      );

      const n = 200_000;
      const moments = (distribution: RandomSpec['distribution']) => {
        const x = run(ops, [new Float32Array(n)], (o, [O]) =>
          o.random(O, { seed: 77, stream: 1, distribution }),
        ).vectors[0];
        const mean = x.reduce((s, v) => s + v, 0) / n;
        return {
          mean,
          variance: x.reduce((s, v) => s + (v - mean) ** 2, 0) / n,
          min: minOf(x.subarray(0, 1000)),
        };
      };
      // Standard errors at n = 2e5: mean ~ sd / 447, variance ~ 0.003 for N(0,1); 5 of them allowed.
      const g = moments('gaussian');
      assert.ok(
        Math.abs(g.mean) < 0.011 && Math.abs(g.variance - 1) < 0.016,
        `gaussian ${JSON.stringify(g)}`,
      );
      const u = moments('uniform');
      assert.ok(
        Math.abs(u.mean - 0.5) < 0.0033 && Math.abs(u.variance - 1 / 12) < 0.001 && u.min > 0,
        `uniform ${JSON.stringify(u)}`,
      );
      const r = moments('rademacher');
      assert.ok(
        Math.abs(r.mean) < 0.011 && Math.abs(r.variance - 1) < 0.001,
        `rademacher ${JSON.stringify(r)}`,
      );
    });

    test('random: uniform is strictly below 1 where (w0 + 0.5) 2^-32 rounds to 1 in float32', () => {
      for (const { seed, index, w0 } of UNIFORM_TOP_WORDS) {
        const [k0, k1] = seedKey(seed);
        assert.equal(philox4x32(index, 0, 0, 0, k0, k1, new Uint32Array(4))[0], w0);
        // The old formula: the float64 value is below 1, its float32 rounding is not.
        assert.equal(Math.fround((w0 + 0.5) / 2 ** 32), 1);
        const u = run(ops, [new Float32Array(4)], (o, [O]) =>
          o.random(O, { seed, stream: 0, distribution: 'uniform' }),
        ).vectors[0];
        assert.equal(u[index], FLOAT32_BELOW_ONE_BITS, `seed ${seed}, element ${index}`);
        // The other elements are the plain formula, rounded once.
        for (let i = 0; i < 4; i++) {
          if (i === index) continue;
          const w = philox4x32(i, 0, 0, 0, k0, k1, new Uint32Array(4))[0];
          assert.equal(u[i], Math.fround((w + 0.5) / 2 ** 32), `seed ${seed}, element ${i}`);
        }
        // perturb draws the same values: 0 + 1 * d(i).
        const p = run(ops, [new Float32Array(4)], (o, [X]) =>
          o.perturb(X, 1, { seed, stream: 0, distribution: 'uniform' }),
        ).vectors[0];
        assert.equal(p[index], FLOAT32_BELOW_ONE_BITS, `perturb, seed ${seed}`);
      }
    });

    test('perturb with segments: each segment moves by sigma * its norm, the rest stays', () => {
      const x = ordinary(2000, 70);
      const segments = [
        { offset: 1000, length: 999 },
        { offset: 10, length: 300 },
      ];
      const after = run(ops, [x], (o, [X]) =>
        o.perturb(X, 0.05, { seed: 3, stream: 0, distribution: 'gaussian' }, segments),
      ).vectors[0];
      for (const { offset, length } of segments) {
        let moved = 0;
        let norm = 0;
        for (let i = offset; i < offset + length; i++) {
          moved += (after[i] - x[i]) ** 2;
          norm += x[i] ** 2;
        }
        assertNear(
          Math.sqrt(moved),
          0.05 * Math.sqrt(norm),
          1e-4,
          0.05 * Math.sqrt(norm),
          `segment at ${offset}`,
        );
      }
      const outside = [
        ...Array(10).keys(),
        ...Array.from({ length: 690 }, (_, k) => 310 + k),
        1999,
      ];
      for (const i of outside) assert.equal(after[i], x[i], `element ${i} outside the segments`);
    });

    test('magnitudeMask: exact count, ties to the lowest indices, NaN largest, segments', () => {
      const mask = (x: number[], segments: Segment[], count: number, fill = 7) =>
        run(ops, [Float32Array.from(x), new Float32Array(x.length).fill(fill)], (o, [X, M]) =>
          o.magnitudeMask(X, M, segments, count),
        );
      const whole = (n: number) => [{ offset: 0, length: n }];
      // |x| = 1 1 1 0.5 1 0 0: the 4 smallest are both zeros, 0.5 and the first of the 1s.
      let r = mask([1, -1, 1, 0.5, 1, -0, 0], whole(7), 4);
      assert.deepEqual([...r.vectors[1]], [0, 1, 1, 0, 1, 0, 0]);
      assert.deepEqual(r.result, { threshold: 1, pruned: 4 });
      r = mask([NaN, 1, Infinity, 2], whole(4), 3);
      assert.deepEqual([...r.vectors[1]], [1, 0, 0, 0]);
      assert.deepEqual(r.result, { threshold: Infinity, pruned: 3 });
      r = mask([NaN, 1, Infinity, 2], whole(4), 4);
      assert.ok(Number.isNaN(r.result.threshold), 'NaN is the largest');
      r = mask([3, 2, 1], whole(3), 0);
      assert.deepEqual([...r.vectors[1]], [1, 1, 1]);
      assert.deepEqual(r.result, { threshold: 0, pruned: 0 });
      // Global over two segments (given out of order): the 3 smallest of {5, 0.1, 4} and {0.2, 3, 0.1}
      // are 0.1 (index 2), 0.2 and 0.1 (index 7); index 0 and 4 lie outside and keep their 7.
      const x = [0.01, 5, 0.1, 4, 0.02, 0.2, 3, 0.1];
      r = mask(
        x,
        [
          { offset: 5, length: 3 },
          { offset: 1, length: 3 },
        ],
        3,
      );
      assert.deepEqual([...r.vectors[1]], [7, 1, 0, 1, 7, 0, 1, 0]);
      assert.deepEqual(r.result, { threshold: Math.fround(0.2), pruned: 3 });
      // Layer-wise: one call per segment, 1 each.
      const layerwise = run(
        ops,
        [Float32Array.from(x), new Float32Array(8).fill(7)],
        (o, [X, M]) => {
          o.magnitudeMask(X, M, [{ offset: 1, length: 3 }], 1);
          o.magnitudeMask(X, M, [{ offset: 5, length: 3 }], 1);
        },
      );
      assert.deepEqual([...layerwise.vectors[1]], [7, 1, 0, 1, 7, 1, 1, 0]);
      // Many ties: 10,000 entries drawn from 5 magnitudes; the mask must match a sort by (|x|, index).
      const rand = prng(80);
      const tied = Array.from(
        { length: 10_000 },
        () => [0, -0, 0.5, -0.5, 1, -1, 2, NaN][Math.floor(rand() * 8)],
      );
      const rankKey = (v: number) => (Number.isNaN(v) ? Infinity : Math.abs(v));
      const order = tied
        .map((_, i) => i)
        .sort((i, j) => rankKey(tied[i]) - rankKey(tied[j]) || i - j);
      for (const count of [1234, 5000, 9999]) {
        const expected = new Array(tied.length).fill(1);
        for (const i of order.slice(0, count)) expected[i] = 0;
        assert.deepEqual(
          [...mask(tied, whole(tied.length), count).vectors[1]],
          expected,
          `ties, count ${count}`,
        );
      }
    });

    test('errors: freed, foreign and double-freed vectors, lengths, arguments', () => {
      const a = ops.alloc(4);
      const b = ops.alloc(5);
      const foreign = (backend.name === 'js' ? backend.create() : oracle).alloc(4);
      assertKernelError(() => ops.axpy(a, 1, b), 'ANNEAL_KERNEL_LENGTH', 'length mismatch');
      assertKernelError(
        () => ops.clipByGlobalNormInto(a, 1, b),
        'ANNEAL_KERNEL_LENGTH',
        'clipByGlobalNormInto: a norm vector of more than one float',
      );
      assertKernelError(
        () => ops.adam(a, a, a, a, b, { ...ADAMW }),
        'ANNEAL_KERNEL_LENGTH',
        'vMax length',
      );
      assertKernelError(
        () => ops.upload(a, new Float32Array(3), 2),
        'ANNEAL_KERNEL_LENGTH',
        'upload past the end',
      );
      assertKernelError(
        () => ops.download(a, new Float32Array(3)),
        'ANNEAL_KERNEL_LENGTH',
        'download into short',
      );
      assertKernelError(
        () => ops.weightedSum(a, [a], [1]),
        'ANNEAL_KERNEL_ARGUMENT',
        'weightedSum aliasing',
      );
      assertKernelError(() => ops.weightedSum(a, [a], []), 'ANNEAL_KERNEL_LENGTH', 'weights count');
      assertKernelError(() => ops.axpy(a, 1, foreign), 'ANNEAL_KERNEL_BACKEND', 'foreign vector');
      assertKernelError(
        () => ops.free(foreign),
        'ANNEAL_KERNEL_BACKEND',
        'freeing a foreign vector',
      );
      assertKernelError(
        () => ops.adam(a, a, a, a, null, { ...ADAMW, step: 0 }),
        'ANNEAL_KERNEL_ARGUMENT',
        'step 0',
      );
      const sgd = {
        lr: 0.1,
        momentum: 0.9,
        dampening: 0.1,
        nesterov: true,
        weightDecay: 0,
        decoupled: false,
        step: 1,
      };
      assertKernelError(
        () => ops.sgd(a, a, a, sgd),
        'ANNEAL_KERNEL_ARGUMENT',
        'nesterov with dampening',
      );
      assertKernelError(
        () => ops.sgd(a, a, null, { ...sgd, nesterov: false }),
        'ANNEAL_KERNEL_ARGUMENT',
        'no buffer',
      );
      assertKernelError(
        () => ops.random(a, { seed: -1, stream: 0, distribution: 'uniform' }),
        'ANNEAL_KERNEL_ARGUMENT',
        'seed',
      );
      assertKernelError(
        () => ops.random(a, { seed: 0, stream: 2 ** 32, distribution: 'uniform' }),
        'ANNEAL_KERNEL_ARGUMENT',
        'stream',
      );
      const m = ops.alloc(4);
      const seg = (offset: number, length: number) => ({ offset, length });
      assertKernelError(
        () => ops.magnitudeMask(a, m, [seg(0, 4)], 5),
        'ANNEAL_KERNEL_ARGUMENT',
        'count > total',
      );
      assertKernelError(
        () => ops.magnitudeMask(a, m, [seg(0, 3), seg(2, 2)], 1),
        'ANNEAL_KERNEL_ARGUMENT',
        'overlap',
      );
      assertKernelError(
        () => ops.magnitudeMask(a, m, [seg(3, 2)], 1),
        'ANNEAL_KERNEL_ARGUMENT',
        'segment outside',
      );
      assertKernelError(() => ops.alloc(-1), 'ANNEAL_KERNEL_ARGUMENT', 'negative length');
      ops.free(a);
      assert.equal(a.alive, false);
      assertKernelError(() => ops.scale(a, 2), 'ANNEAL_KERNEL_FREED', 'use after free');
      assertKernelError(() => ops.download(a), 'ANNEAL_KERNEL_FREED', 'download after free');
      assertKernelError(() => ops.free(a), 'ANNEAL_KERNEL_FREED', 'double free');
      // A disposed backend: its vectors are dead and it allocates no more.
      const other = backend.create();
      const v = other.alloc(3);
      other.dispose();
      assert.equal(v.alive, false);
      assertKernelError(
        () => other.sumSquares(v),
        'ANNEAL_KERNEL_FREED',
        'vector of a disposed backend',
      );
      assertKernelError(() => other.alloc(3), 'ANNEAL_KERNEL_FREED', 'alloc after dispose');
      ops.free(b);
      ops.free(m);
    });
  });
}

/**
 * The CUDA kernels' shared element math, run through the host build of the addon
 * (anneal_cpu.node: the same __host__ __device__ functions, functors and radix select as the GPU
 * build) against the js oracle, on an odd length (vector body + scalar tail) with NaN, Inf and
 * -0. Philox is checked against the published Random123 known-answer vector, and the selection's
 * tie rule against hand-worked cases. Runs everywhere: the CPU addon needs only cmake and g++.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadHostOps, type NativeFlatOps } from '../../src/kernels/cuda.js';
import { createJsOps } from '../../src/kernels/js.js';
import type { RandomSpec } from '../../src/kernels/types.js';
import { clipByGlobalNormWith } from '../../src/kernels/common.js';
import { philox4x32, seedKey } from '../../src/kernels/philox.js';
import { assertOutcome, data, opCases, runCase } from './cuda-cases.js';
import { FLOAT32_BELOW_ONE_BITS, UNIFORM_TOP_WORDS } from './helpers.js';

let host: NativeFlatOps | undefined;
let skip: string | false = false;
try {
  host = loadHostOps();
} catch (e) {
  skip = `the host build of the CUDA kernels is not built (${(e as Error).message})`;
}
const oracle = createJsOps();

test('cuda kernels, host build: every op matches the js oracle', { skip }, () => {
  for (const c of opCases(1037))
    assertOutcome(runCase(host!, c), runCase(oracle, c), c, 'host build');
});

test('cuda kernels, host build: Philox4x32-10 gives the Random123 known answer', { skip }, () => {
  // Random123 kat_vectors: philox4x32_10(counter 0, key 0) = 6627e8d5 e169c58d bc57ac4c 9b00dbd8,
  // i.e. element 0 of (seed 0, stream 0): uniform from w0, gaussian from w0 and w1.
  const u1 = (0x6627e8d5 + 0.5) / 2 ** 32;
  const u2 = (0xe169c58d + 0.5) / 2 ** 32;
  const first = (distribution: RandomSpec['distribution']) => {
    const v = host!.alloc(4);
    host!.random(v, { seed: 0, stream: 0, distribution });
    const out = host!.download(v)[0];
    host!.free(v);
    return out;
  };
  assert.equal(first('uniform'), Math.fround(u1));
  assert.equal(first('rademacher'), 1); // w0 = 0x6627e8d5 is odd
  const gaussian = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  assert.ok(Math.abs(first('gaussian') - gaussian) < 1e-6);
});

test(
  'cuda kernels, host build: uniform is strictly in (0, 1), also for the top words',
  { skip },
  () => {
    // uniform_from_word (elementwise.cuh): words w0 >= 2^32 - 128 made (w0 + 0.5) 2^-32 round to
    // 1.0f; they give the largest float32 below 1 instead.
    for (const { seed, index, w0 } of UNIFORM_TOP_WORDS) {
      const [k0, k1] = seedKey(seed);
      assert.equal(philox4x32(index, 0, 0, 0, k0, k1, new Uint32Array(4))[0], w0);
      assert.equal(Math.fround((w0 + 0.5) / 2 ** 32), 1);
      const v = host!.alloc(4);
      host!.random(v, { seed, stream: 0, distribution: 'uniform' });
      const u = host!.download(v);
      host!.free(v);
      assert.equal(u[index], FLOAT32_BELOW_ONE_BITS, `seed ${seed}, element ${index}`);
    }
    // Over many draws: never 0, never 1 (the smallest possible value, 2^-33, is a normal float32).
    const n = 1 << 20;
    const v = host!.alloc(n);
    host!.random(v, { seed: 5, stream: 3, distribution: 'uniform' });
    const u = host!.download(v);
    host!.free(v);
    let outside = 0;
    for (let i = 0; i < n; i++) if (!(u[i] > 0 && u[i] < 1)) outside++;
    assert.equal(outside, 0);
  },
);

test(
  'cuda kernels, host build: the fused clipByGlobalNorm gives the bits of sumSquares + scale',
  { skip },
  () => {
    // The one native call must compute what clipByGlobalNormWith composes from the same backend's
    // sumSquares and scale: norm = sqrt(sum) in float64, coef = maxNorm / (norm + 1e-6), and
    // g *= (float)coef only when coef < 1 (so NaN norms and large maxNorm leave g alone).
    const n = 1037;
    const values = (seed: number) => data(seed, n, false);
    const withSpecial = data(12, n);
    const cases: [string, Float32Array, number][] = [
      ['scaled', values(10), 1],
      ['not scaled', values(10), 1e6],
      [
        'coef just below 1',
        values(11),
        Math.sqrt(values(11).reduce((a, v) => a + v * v, 0)) * 0.999,
      ],
      ['negative maxNorm', values(11), -2],
      ['NaN and Inf in g', withSpecial, 1],
      ['empty', new Float32Array(0), 0.5],
      ['tiny maxNorm on zeros', new Float32Array(8), 1e-9],
    ];
    for (const [what, g0, maxNorm] of cases) {
      const fused = host!.fromArray(g0);
      const composed = host!.fromArray(g0);
      const fusedNorm = host!.clipByGlobalNorm(fused, maxNorm);
      const composedNorm = clipByGlobalNormWith(host!, composed, maxNorm);
      assert.ok(
        Object.is(fusedNorm, composedNorm),
        `${what}: norm ${fusedNorm} vs ${composedNorm}`,
      );
      const a = host!.download(fused);
      const b = host!.download(composed);
      assert.ok(Buffer.from(a.buffer).equals(Buffer.from(b.buffer)), `${what}: g differs`);
      host!.free(fused);
      host!.free(composed);
    }
  },
);

test('cuda kernels, host build: magnitudeMask ties go to the lowest indices', { skip }, () => {
  const ops = host!;
  const x = ops.fromArray(new Float32Array([2, -1, 1, 5, -1, 1, 0.5, 1]));
  const mask = ops.alloc(8);
  // Sorted |x|: 0.5 (6), then five 1s at 1, 2, 4, 5, 7. Pruning 3 takes 0.5 and the 1s at 1, 2.
  assert.deepEqual(ops.magnitudeMask(x, mask, [{ offset: 0, length: 8 }], 3), {
    threshold: 1,
    pruned: 3,
  });
  assert.deepEqual([...ops.download(mask)], [1, 0, 0, 1, 1, 1, 0, 1]);
  // Over segments [4, 8) then [0, 2): the union's lowest indices win, not the segment order.
  ops.fill(mask, 9);
  const segments = [
    { offset: 4, length: 4 },
    { offset: 0, length: 2 },
  ];
  assert.deepEqual(ops.magnitudeMask(x, mask, segments, 3), { threshold: 1, pruned: 3 });
  assert.deepEqual([...ops.download(mask)], [1, 0, 9, 9, 0, 1, 0, 1]);
  // Hand-worked reductions: NaN ignored, -0 and +0 both zeros, Inf both non-finite and the max.
  const special = ops.fromArray(new Float32Array([NaN, -0, 0, 3, -4, Infinity]));
  assert.equal(ops.maxAbs(special), Infinity);
  assert.equal(ops.countZeros(special), 2);
  assert.equal(ops.countNonFinite(special), 2);
  [x, mask, special].forEach((v) => ops.free(v));
});

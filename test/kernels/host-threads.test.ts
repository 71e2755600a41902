/**
 * The host kernels' threads: a reduction sums fixed chunks in a fixed order, so its result is
 * the same bits on 1 and 2 threads (and matches the js oracle); element-wise ops are the same
 * bits too; ANNEAL_THREADS is checked. Skipped where anneal_cpu.node is not built (CI sets
 * ANNEAL_REQUIRE_HOST=1: there it fails).
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { UsageError } from '../../src/errors.js';
import {
  createFlatOps,
  setHostThreads,
  type FlatOps,
  type FlatVector,
} from '../../src/kernels/index.js';
import {
  ADAMW,
  assertClose,
  assertNear,
  assertSameBits,
  hostKernelsSkip,
  oracle,
  ordinary,
  run,
  special,
} from './helpers.js';

const skip = hostKernelsSkip();
// Many reduction chunks, the pool engaged for every op, and an odd tail.
const N = 1_000_003;

after(() => {
  if (!skip) setHostThreads(0);
});

/** `op` on the host kernels with 1 and then 2 threads: both runs' vectors and results. */
function onOneAndTwo<R>(inputs: Float32Array[], op: (o: FlatOps, vs: FlatVector[]) => R) {
  const ops = createFlatOps('host');
  try {
    return [1, 2].map((threads) => {
      assert.equal(setHostThreads(threads), threads, `${threads} thread(s) in effect`);
      return run(ops, inputs, op);
    });
  } finally {
    ops.dispose();
  }
}

test('host kernels: reductions give the same bits on 1 and 2 threads', { skip }, () => {
  const a = ordinary(N, 1);
  const b = ordinary(N, 2);
  const reductions = (o: FlatOps, [A, B]: FlatVector[]) => [
    o.dot(A, B),
    o.sumSquares(A),
    o.maxAbs(A),
    o.countZeros(A),
  ];
  const [one, two] = onOneAndTwo([a, b], reductions);
  assert.deepEqual(two.result, one.result);
  // ...and the value is right, not merely repeatable.
  const want = run(oracle, [a, b], reductions).result;
  let sumAbs = 0;
  for (let i = 0; i < N; i++) sumAbs += Math.abs(a[i] * b[i]);
  assertNear(one.result[0], want[0], 1e-9, sumAbs, 'dot');
  assertNear(one.result[1], want[1], 1e-9, want[1], 'sumSquares');
  assert.deepEqual(one.result.slice(2), want.slice(2), 'maxAbs, countZeros');
});

test(
  'host kernels: normalised perturbation (per-segment norms) is the same on 1 and 2 threads',
  { skip },
  () => {
    const x = ordinary(N, 3);
    const spec = { seed: 11, stream: 3, distribution: 'gaussian' as const };
    const segments = [
      { offset: 1, length: 600_000 },
      { offset: 700_001, length: 300_000 },
    ];
    const perturb = (o: FlatOps, [X]: FlatVector[]) => o.perturb(X, 0.01, spec, segments);
    const [one, two] = onOneAndTwo([x], perturb);
    assertSameBits(two.vectors[0], one.vectors[0], 'perturb');
    assertClose(
      one.vectors[0],
      run(oracle, [x], perturb).vectors[0],
      1e-5,
      'perturb vs js',
      undefined,
      x,
    );
  },
);

/** Params and gradients with special values (NaN, infinities, -0), moments, second moments. */
const adamInputs = () => [
  special(N, 4, 0),
  special(N, 5, 1),
  ordinary(N, 6),
  ordinary(N, 7).map(Math.abs),
];

test('host kernels: element-wise ops give the same bits on 1 and 2 threads', { skip }, () => {
  const inputs = adamInputs();
  const step = (o: FlatOps, [p, g, m, v]: FlatVector[]) => {
    o.adam(p, g, m, v, null, ADAMW);
    o.random(m, { seed: 9, stream: 1, distribution: 'gaussian' });
  };
  const [one, two] = onOneAndTwo(inputs, step);
  one.vectors.forEach((v, k) => assertSameBits(two.vectors[k], v, `vector ${k}`));
});

test(
  'host kernels: Adam without masks (its vectorised loop) gives the bits of the masked path with all-ones masks',
  { skip },
  () => {
    const inputs = adamInputs();
    const ones = new Float32Array(N).fill(1);
    const ops = createFlatOps('host');
    try {
      for (const decoupled of [true, false]) {
        const config = { ...ADAMW, decoupled };
        const plain = run(ops, inputs, (o, [p, g, m, v]) => o.adam(p, g, m, v, null, config));
        const masked = run(ops, [...inputs, ones, ones], (o, [p, g, m, v, lrMask, decayMask]) =>
          o.adam(p, g, m, v, null, config, { lrMask, decayMask }),
        );
        plain.vectors.forEach((v, k) =>
          assertSameBits(v, masked.vectors[k], `decoupled ${decoupled}, vector ${k}`),
        );
      }
    } finally {
      ops.dispose();
    }
  },
);

test('host kernels: a bad ANNEAL_THREADS is a usage error naming the value', { skip }, () => {
  const saved = process.env.ANNEAL_THREADS;
  try {
    for (const value of ['0', 'two', '1.5', '']) {
      process.env.ANNEAL_THREADS = value;
      assert.throws(
        () => createFlatOps('host'),
        (e: unknown) =>
          e instanceof UsageError &&
          e.code === 'ANNEAL_BAD_THREADS' &&
          e.message.startsWith(`ANNEAL_THREADS is '${value}', expected a whole number >= 1`),
        `ANNEAL_THREADS=${JSON.stringify(value)}`,
      );
    }
    process.env.ANNEAL_THREADS = '1';
    createFlatOps('host').dispose();
  } finally {
    if (saved === undefined) delete process.env.ANNEAL_THREADS;
    else process.env.ANNEAL_THREADS = saved;
  }
});

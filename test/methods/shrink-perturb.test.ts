import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { Rng } from '../../src/data/index.js';
import { createFlatOps } from '../../src/kernels/index.js';
import { shrinkAndPerturb, shrinkPerturb } from '../../src/methods/shrink-perturb/index.js';
import { Event } from '../../src/train/events.js';
import type { Method } from '../../src/train/method.js';
import { Trainer } from '../../src/train/index.js';
import { KERNEL_BACKENDS, paramsOf, tinyData, tinyMlp, useTfCpu } from '../train/helpers.js';

before(useTfCpu);

function randomVector(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => 2 * rng.next() - 1);
}

for (const backend of KERNEL_BACKENDS) {
  test(
    `shrink-perturb with sigma = 0 is w * lambda (${backend.name})`,
    { skip: backend.skip },
    () => {
      const ops = backend.create();
      const w = randomVector(1000, 3);
      const v = ops.fromArray(w);
      shrinkPerturb(ops, v, 0.3, 0, 7);
      const got = ops.download(v);
      // w * 0.3 to float32 rounding (backends multiply by lambda in float32 or float64).
      for (let i = 0; i < w.length; i++)
        assert.ok(Math.abs(got[i] - w[i] * 0.3) <= 1e-7 * Math.abs(w[i]));
      ops.free(v);
      ops.dispose();
    },
  );
}

test('shrink-perturb adds N(0, sigma^2) noise after shrinking', () => {
  const ops = createFlatOps('js');
  const w = randomVector(20000, 4);
  const v = ops.fromArray(w);
  shrinkPerturb(ops, v, 0.5, 0.1, 11);
  const got = ops.download(v);
  const noise = Array.from(got, (g, i) => (g - 0.5 * w[i]) / 0.1);
  const mean = noise.reduce((a, b) => a + b, 0) / noise.length;
  const sd = Math.sqrt(noise.reduce((a, b) => a + (b - mean) ** 2, 0) / noise.length);
  // 20k standard normals: mean within 4/sqrt(n) ~ 0.03, sd within a few percent of 1.
  assert.ok(Math.abs(mean) < 0.03 && Math.abs(sd - 1) < 0.03, `${mean} ${sd}`);
  ops.free(v);
  ops.dispose();
});

test('in training: weights shrink by lambda at each period (sigma = 0, optimizer steps skipped)', async () => {
  const frozen: Method = {
    name: 'frozen',
    match: (e) => e === Event.BEFORE_STEP,
    apply: (_e, s) => void (s.skipStep = true),
  };
  const model = tinyMlp([8], 1);
  const seen: Float32Array[] = [];
  const trainer: Trainer = new Trainer({
    model,
    trainData: tinyData(32),
    maxDuration: '6ba',
    batchSize: 16,
    kernels: 'js',
    methods: [frozen, shrinkAndPerturb({ lambda: 0.5, sigma: 0, every: '2ba' })],
    callbacks: [{ onBatchEnd: () => void seen.push(paramsOf(trainer)) }],
  });
  const start = paramsOf(trainer);
  await trainer.fit();
  // Shrinks at the starts of steps 2 and 4 (never at step 0): after batches 1..6 the weights are
  // w, w, w/2, w/2, w/4, w/4 (exact: halving is exact in float32).
  const factors = [1, 1, 0.5, 0.5, 0.25, 0.25];
  seen.forEach((p, b) =>
    assert.deepEqual(
      p,
      start.map((x) => x * factors[b]),
    ),
  );
  trainer.dispose();
  model.dispose();
});

test('out-of-range shrink-perturb options are UsageErrors naming them', () => {
  assert.throws(
    () => shrinkAndPerturb({ lambda: 1.5 }),
    /shrink-perturb: lambda = 1.5 is not valid/,
  );
  assert.throws(
    () => shrinkAndPerturb({ sigma: -0.1 }),
    /shrink-perturb: sigma = -0.1 is not valid/,
  );
});

/**
 * ShrinkBench metrics against hand counts: FLOPs of an MLP and a CNN under a given mask, the
 * parameter counts and compression, the CSR size, top-1/top-5 against a sort of the logits, and
 * a pruned model's file round trip.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { syntheticDataset } from '../../src/data/index.js';
import { ParamVector } from '../../src/engine/param-vector.js';
import { createFlatOps } from '../../src/kernels/index.js';
import { createModel } from '../../src/models/index.js';
import { loadPrunedModel, savePrunedModel } from '../../src/pruning/export.js';
import { evaluateTopK, pruningMetrics } from '../../src/pruning/metrics.js';
import { useTfCpu } from '../train/helpers.js';

before(useTfCpu);

/** A mask pruning the first `count` weights of the named kernels. */
function maskPruning(pv: ParamVector, counts: Record<string, number>): Float32Array {
  const mask = new Float32Array(pv.length).fill(1);
  for (const s of pv.segments) {
    const n = counts[s.layer] ?? 0;
    if (s.kind === 'kernel') mask.fill(0, s.offset, s.offset + n);
  }
  return mask;
}

function withVector<T>(model: tfl.LayersModel, fn: (pv: ParamVector) => T): T {
  const ops = createFlatOps('js');
  const pv = ParamVector.fromModel(model, ops);
  try {
    return fn(pv);
  } finally {
    pv.dispose();
    ops.dispose();
  }
}

test('MLP 64-16-8-4: FLOPs are kernel weights kept, per layer', () => {
  const model = createModel('mlp', {
    inputShape: [8, 8, 1],
    numClasses: 4,
    hidden: [16, 8],
    seed: 1,
  });
  const layers = model.layers.filter((l) => l.getClassName() === 'Dense').map((l) => l.name);
  withVector(model, (pv) => {
    const mask = maskPruning(pv, { [layers[1]]: 40, [layers[2]]: 2 });
    pv.setMask(mask);
    const m = pruningMetrics(model, pv);
    // Dense FLOPs: 64*16 + 16*8 + 8*4 = 1024 + 128 + 32.
    assert.equal(m.flops, 1184);
    assert.equal(m.prunedFlops, 1184 - 40 - 2);
    assert.equal(m.speedup, 1184 / 1142);
    // Parameters: kernels 1184 + biases 16 + 8 + 4 (initialised to 0, so not counted nonzero).
    assert.equal(m.totalParams, 1212);
    assert.equal(m.nonzeroParams, 1184 - 42);
    assert.equal(m.compressionRatio, 1212 / 1142);
    const second = m.layers.find((l) => l.layer === layers[1] && l.kind === 'kernel')!;
    assert.deepEqual([second.params, second.kept, second.sparsity], [128, 88, 40 / 128]);
  });
  model.dispose();
});

test('CNN (4, 4 filters, 8 units) on 8x8: conv FLOPs count every output position', () => {
  const model = createModel('cnn', {
    inputShape: [8, 8, 1],
    numClasses: 4,
    filters: [4, 4],
    denseUnits: 8,
    seed: 2,
  });
  const conv = model.layers.filter((l) => l.getClassName() === 'Conv2D').map((l) => l.name);
  const dense = model.layers.filter((l) => l.getClassName() === 'Dense').map((l) => l.name);
  withVector(model, (pv) => {
    const mask = maskPruning(pv, { [conv[1]]: 130, [dense[0]]: 10 });
    const m = pruningMetrics(model, pv, mask);
    // conv1: 3*3*1*4 = 36 weights at 8*8 positions; conv2: 3*3*4*4 = 144 at 4*4 (after a pool);
    // dense1: (2*2*4)*8 = 128; dense2: 8*4 = 32.
    const flops = 36 * 64 + 144 * 16 + 128 + 32;
    assert.equal(m.flops, flops);
    assert.equal(m.prunedFlops, flops - 130 * 16 - 10);
    assert.equal(m.speedup, flops / (flops - 130 * 16 - 10));
    // Sizes: conv2 in CSR = 8 * 14 kept + 4 * (4 + 1) row pointers = 132 < 576 dense; the other
    // kernels are smaller dense (e.g. dense1: 8 * 118 + 4 * 9 = 980 > 512); biases 20 * 4 bytes.
    assert.equal(m.denseBytes, 4 * (36 + 4 + 144 + 4 + 128 + 8 + 32 + 4));
    assert.equal(m.sparseBytes, 4 * 36 + 132 + 4 * 128 + 4 * 32 + 4 * 20);
  });
  model.dispose();
});

test('top-1 and top-5 accuracy match a sort of the logits', async () => {
  const data = syntheticDataset({ n: 60, seed: 4, shape: [8, 8, 1], numClasses: 10 });
  const model = createModel('mlp', { inputShape: [8, 8, 1], numClasses: 10, hidden: [8], seed: 3 });
  const got = await evaluateTopK(model, data, { batchSize: 25 });
  const logits = tf.tidy(() =>
    model.predict(tf.tensor4d(data.images, [data.length, 8, 8, 1])),
  ) as tf.Tensor;
  const values = logits.dataSync();
  logits.dispose();
  let top1 = 0;
  let top5 = 0;
  for (let r = 0; r < data.length; r++) {
    const row = Array.from(values.slice(r * 10, r * 10 + 10));
    const order = row
      .map((v, c) => [v, c])
      .sort((a, b) => b[0] - a[0])
      .map(([, c]) => c);
    if (order[0] === data.labels[r]) top1++;
    if (order.slice(0, 5).includes(data.labels[r])) top5++;
  }
  assert.equal(got.top1, top1 / 60);
  assert.equal(got.top5, top5 / 60);
  assert.ok(got.top5 >= got.top1);
  model.dispose();
});

test('a pruned model file holds the weights and the mask', () => {
  const model = createModel('mlp', {
    inputShape: [8, 8, 1],
    numClasses: 4,
    hidden: [16, 8],
    seed: 5,
  });
  const dir = mkdtempSync(join(tmpdir(), 'anneal-pruned-'));
  withVector(model, (pv) => {
    const mask = maskPruning(pv, { [pv.segments[2].layer]: 50 });
    pv.setMask(mask);
    savePrunedModel(join(dir, 'p.ck'), pv, mask, { note: 'x' });
    const file = loadPrunedModel(join(dir, 'p.ck'));
    assert.deepEqual(file.params, pv.ops.download(pv.params));
    assert.deepEqual(file.mask, mask);
    assert.equal(file.meta.note, 'x');
    assert.equal(file.segments.length, pv.segments.length);
  });
  model.dispose();
});

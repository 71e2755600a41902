/**
 * The BatchNorm refresh against statistics computed here from the weights (float64 host
 * arithmetic), and SWA's mid-run evaluation leaving the live run untouched.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { batchNormLayers, refreshBatchNorm, swa } from '../../src/averaging/index.js';
import { Trainer } from '../../src/train/index.js';
import { paramsOf, tinyData, tinyEvalData, useTfCpu } from '../train/helpers.js';

before(useTfCpu);

/** 8x8x1 -> dense(5) -> BatchNorm -> relu -> dense(4), seeded. */
function bnModel(seed: number): tfl.LayersModel {
  const input = tfl.input({ shape: [8, 8, 1] });
  let x = tfl.layers.flatten().apply(input) as tfl.SymbolicTensor;
  x = tfl.layers
    .dense({ units: 5, kernelInitializer: tfl.initializers.glorotUniform({ seed }) })
    .apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.batchNormalization({ momentum: 0.9 }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.activation({ activation: 'relu' }).apply(x) as tfl.SymbolicTensor;
  const out = tfl.layers
    .dense({ units: 4, kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + 1 }) })
    .apply(x) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: out });
}

function movingStats(model: tfl.LayersModel) {
  const [bn] = batchNormLayers(model);
  return {
    mean: [...(bn.movingMean.read().dataSync() as Float32Array)],
    variance: [...(bn.movingVariance.read().dataSync() as Float32Array)],
  };
}

/** Pre-activations of the first dense layer, computed on the host in float64. */
function denseOutputs(model: tfl.LayersModel, images: Float32Array, n: number): number[][] {
  const dense = model.layers.find((l) => l.getClassName() === 'Dense')!;
  const [kernel, bias] = dense.getWeights().map((w) => w.dataSync() as Float32Array);
  const rows: number[][] = [];
  for (let s = 0; s < n; s++) {
    const row: number[] = [];
    for (let j = 0; j < 5; j++) {
      let v = bias[j];
      for (let i = 0; i < 64; i++) v += images[s * 64 + i] * kernel[i * 5 + j];
      row.push(v);
    }
    rows.push(row);
  }
  return rows;
}

function meanVar(rows: number[][], j: number): { mean: number; variance: number } {
  const mean = rows.reduce((a, r) => a + r[j], 0) / rows.length;
  const variance = rows.reduce((a, r) => a + (r[j] - mean) ** 2, 0) / rows.length;
  return { mean, variance };
}

function setStats(model: tfl.LayersModel, value: number) {
  const [bn] = batchNormLayers(model);
  for (const v of [bn.movingMean, bn.movingVariance]) {
    const t = tf.fill([5], value);
    v.write(t);
    t.dispose();
  }
}

test('one batch: the refreshed statistics are the mean and (biased) variance of the activations', () => {
  const model = bnModel(1);
  const data = tinyData(40, 8);
  setStats(model, 7);
  assert.equal(refreshBatchNorm(model, data, { batchSize: 40 }), 1);
  const rows = denseOutputs(model, data.images, 40);
  const stats = movingStats(model);
  for (let j = 0; j < 5; j++) {
    const { mean, variance } = meanVar(rows, j);
    assert.ok(Math.abs(stats.mean[j] - mean) < 1e-4, `mean ${j}: ${stats.mean[j]} vs ${mean}`);
    assert.ok(Math.abs(stats.variance[j] - variance) < 1e-4 * Math.max(1, variance));
  }
  // The layer's momentum is put back.
  assert.equal(batchNormLayers(model)[0].momentum, 0.9);
  model.dispose();
});

test('four batches: a cumulative average of the per-batch statistics (PyTorch update_bn)', () => {
  const model = bnModel(2);
  const data = tinyData(40, 9);
  setStats(model, -3);
  refreshBatchNorm(model, data, { batchSize: 10 });
  const rows = denseOutputs(model, data.images, 40);
  const stats = movingStats(model);
  for (let j = 0; j < 5; j++) {
    let mean = 0;
    let variance = 0;
    for (let b = 0; b < 4; b++) {
      const s = meanVar(rows.slice(b * 10, b * 10 + 10), j);
      mean += s.mean / 4;
      variance += s.variance / 4;
    }
    assert.ok(Math.abs(stats.mean[j] - mean) < 1e-4, `mean ${j}`);
    assert.ok(Math.abs(stats.variance[j] - variance) < 1e-4 * Math.max(1, variance), `var ${j}`);
  }
  model.dispose();
});

test('SWA evaluating its average mid-run changes neither the training nor the live BatchNorm statistics', async () => {
  const runOnce = async (evalAverage: boolean) => {
    const model = bnModel(3);
    const losses: number[] = [];
    const trainer = new Trainer({
      model,
      trainData: tinyData(64, 10),
      evalData: tinyEvalData(32),
      maxDuration: '6ba',
      evalInterval: '2ba',
      batchSize: 16,
      kernels: 'js',
      methods: [swa({ start: '1ba', interval: '1ba', evalAverage, swapAtEnd: false })],
      callbacks: [{ onBatchEnd: (s) => void losses.push(s.lossValue) }],
    });
    const result = await trainer.fit();
    const out = { losses, params: paramsOf(trainer), stats: movingStats(model), result };
    trainer.dispose();
    model.dispose();
    return out;
  };
  const plain = await runOnce(false);
  const evaluated = await runOnce(true);
  assert.deepEqual(evaluated.losses, plain.losses);
  assert.deepEqual(evaluated.params, plain.params);
  assert.deepEqual(evaluated.stats, plain.stats);
  assert.deepEqual(evaluated.result.eval, plain.result.eval);
  assert.ok(Number.isFinite(evaluated.result.metrics['swa/eval/accuracy']));
});

/**
 * Composer's pattern: one settings table maps every registered method to options (and a model),
 * and one parameterised test trains each for two batches, checkpoints, resumes in a new Trainer
 * and trains two more; the losses equal those of four batches straight, and no tensor is left
 * behind.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { createMethod, methodNames } from '../../src/methods/registry.js';
import { createModel } from '../../src/models/index.js';
import { Trainer, type Method, type TrainerOptions } from '../../src/train/index.js';
import { tinyData, tinyEvalData, tinyMlp, useTfCpu } from '../train/helpers.js';

before(useTfCpu);

interface Setting {
  options: Record<string, unknown>;
  model?: () => tfl.LayersModel;
  /** Trainer options the method needs (a run length in samples for a varying batch size). */
  trainer?: Partial<TrainerOptions>;
}

/** Model-transforming methods (BlurPool) rebuild the model before the Trainer sees it. */
function prepared(model: tfl.LayersModel, method: Method): tfl.LayersModel {
  const transform = (
    method as { transformModel?: (m: tfl.LayersModel) => { model: tfl.LayersModel } }
  ).transformModel;
  if (!transform) return model;
  const rebuilt = transform.call(method, model).model;
  model.dispose();
  return rebuilt;
}

const tinyCnn = () =>
  createModel('cnn', {
    inputShape: [8, 8, 1],
    numClasses: 4,
    seed: 3,
    filters: [4, 4],
    denseUnits: 8,
  });

const SETTINGS: Record<string, Setting> = {
  'label-smoothing': { options: { alpha: 0.1 } },
  'softmax-temperature': { options: { min: 0.5, max: 2 } },
  'focal-loss': { options: { gamma: 2 } },
  'cyclical-focal-loss': { options: { gammaHigh: 3, gammaLow: 2, factor: 4 } },
  'batch-augmentation': { options: { m: 2, pad: 2, translate: 1 } },
  'cyclical-augmentation': { options: { min: 0, max: 2, flip: true } },
  mixup: { options: { alpha: 0.4 } },
  cutmix: { options: { alpha: 1 }, model: tinyCnn },
  blurpool: { options: {}, model: tinyCnn },
  'cyclical-weight-decay': { options: { min: 0.01, max: 0.09 } },
  'grad-clip': { options: { maxNorm: 0.5 } },
  'cyclical-grad-clip': { options: { min: 0.5, max: 100 } },
  // 40 samples in batches of 16 -> 10 -> 10 -> 4 (cut at the run's end): 4 steps.
  'cyclical-batch-size': { options: { min: 8 }, trainer: { maxDuration: '40sp' } },
  swa: { options: { start: '1ba', interval: '1ba', lr: 0.005, evalAverage: true } },
  ema: { options: { halfLife: '2ba' } },
  fge: { options: { start: '1ba', cycle: '2ba', lr1: 0.01, lr2: 0.001 } },
  'nan-guard': { options: { policy: 'skip' } },
  'gradual-pruning': {
    options: { target: 0.5, start: 0, end: '3ba', frequency: '1ba' },
    model: () => tinyMlp([16, 8], 5),
  },
  'early-stopping': { options: { monitor: 'eval/loss', patience: 10 } },
  adversarial: {
    options: { epsilon: 0.2, steps: 2, evalLimit: 16, trainEvalLimit: 16, earlyStopping: true },
  },
  noilin: { options: { pInit: 0.2, tau: 1, gamma: 0.5, capUntil: '0dur' } },
  alasca: { options: { lam: 1, warmup: '2ba' }, model: () => tinyMlp([16, 8], 5) },
  'shrink-perturb': { options: { lambda: 0.5, sigma: 0.01, every: '1ba' } },
  reinit: { options: { mode: 'layerwise', every: '1ba' } },
};

test('every registered method has a setting, and every setting a method', () => {
  assert.deepEqual(Object.keys(SETTINGS).sort(), methodNames().sort());
  // `--methods name` with no options builds every method from its registry defaults.
  for (const name of methodNames()) assert.equal(createMethod(name).name, name);
});

async function run(name: string, setting: Setting, extra: Partial<TrainerOptions>) {
  const losses: number[] = [];
  const method = createMethod(name, setting.options);
  const model = prepared((setting.model ?? (() => tinyMlp([16], 5)))(), method);
  const trainer = new Trainer({
    model,
    trainData: tinyData(64, 6),
    evalData: tinyEvalData(32),
    maxDuration: '4ba',
    batchSize: 16,
    seed: 4,
    kernels: 'js',
    evalInterval: '2ba',
    methods: [method],
    callbacks: [{ onBatchEnd: (s) => void losses.push(s.lossValue) }],
    ...setting.trainer,
    ...extra,
  });
  await trainer.fit();
  trainer.dispose();
  model.dispose();
  return losses;
}

for (const [name, setting] of Object.entries(SETTINGS)) {
  test(`${name}: 2 batches, checkpoint, resume, 2 more == 4 straight; no tensors left`, async () => {
    const before = tf.memory().numTensors;
    const straight = await run(name, setting, {});
    assert.equal(straight.length, 4);
    assert.ok(straight.every(Number.isFinite), `${straight}`);
    const dir = mkdtempSync(join(tmpdir(), `anneal-${name}-`));
    const checkpointed = await run(name, setting, { checkpoint: { dir, interval: '2ba' } });
    assert.deepEqual(checkpointed, straight, 'checkpointing changes nothing');
    const resumed = await run(name, setting, { resumeFrom: join(dir, 'checkpoint-2.ck') });
    assert.deepEqual(resumed, straight.slice(2));
    assert.equal(tf.memory().numTensors, before, 'tensors left behind');
  });
}

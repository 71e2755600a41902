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
import { Trainer, type TrainerOptions } from '../../src/train/index.js';
import { tinyData, tinyEvalData, tinyMlp, useTfCpu } from '../train/helpers.js';

before(useTfCpu);

interface Setting {
  options: Record<string, unknown>;
  model?: () => tfl.LayersModel;
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
  'nan-guard': { options: { policy: 'skip' } },
  'early-stopping': { options: { monitor: 'eval/loss', patience: 10 } },
};

test('every registered method has a setting, and every setting a method', () => {
  assert.deepEqual(Object.keys(SETTINGS).sort(), methodNames().sort());
});

async function run(name: string, setting: Setting, extra: Partial<TrainerOptions>) {
  const losses: number[] = [];
  const model = (setting.model ?? (() => tinyMlp([16], 5)))();
  const trainer = new Trainer({
    model,
    trainData: tinyData(64, 6),
    evalData: tinyEvalData(32),
    maxDuration: '4ba',
    batchSize: 16,
    seed: 4,
    kernels: 'js',
    evalInterval: '2ba',
    methods: [createMethod(name, setting.options)],
    callbacks: [{ onBatchEnd: (s) => void losses.push(s.lossValue) }],
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
void tinyCnn;

import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { Rng } from '../../src/data/index.js';
import { ParamVector } from '../../src/engine/param-vector.js';
import { createFlatOps } from '../../src/kernels/index.js';
import { paramLayers, reinit, reinitializeLayers } from '../../src/methods/reinit/index.js';
import { Event } from '../../src/train/events.js';
import type { Method } from '../../src/train/method.js';
import { Trainer } from '../../src/train/index.js';
import { paramsOf, tinyData, tinyMlp, useTfCpu } from '../train/helpers.js';

before(useTfCpu);

test('reinitializeLayers re-draws exactly the chosen layers; the rest stay bit-identical', () => {
  const ops = createFlatOps('js');
  const model = tinyMlp([16, 8], 4);
  const pv = ParamVector.create(model, ops);
  // Non-zero biases everywhere, so that a reset bias is visible.
  const start = ops.download(pv.params);
  const rng = new Rng(1);
  for (let i = 0; i < start.length; i++) start[i] += 0.01 + 0.1 * rng.next();
  ops.upload(pv.params, start);
  const layers = paramLayers(pv);
  assert.equal(layers.length, 3);
  const chosen = layers[1];
  reinitializeLayers(pv, [chosen.name], 5);
  const after = ops.download(pv.params);
  for (const layer of layers) {
    for (const s of layer.segments) {
      const before = start.subarray(s.offset, s.offset + s.length);
      const now = after.subarray(s.offset, s.offset + s.length);
      if (layer !== chosen) {
        assert.deepEqual(now, before, `${s.name} changed`);
      } else if (s.kind === 'bias') {
        assert.ok(
          now.every((v) => v === 0),
          `${s.name} not reset to 0`,
        );
      } else {
        // Glorot-uniform of a 16 x 8 kernel: |w| <= sqrt(6 / (16 + 8)) = 0.5.
        assert.deepEqual(s.shape, [16, 8]);
        assert.ok(now.every((v, i) => Math.abs(v) <= 0.5 && v !== before[i]));
        const mean = now.reduce((a, b) => a + b, 0) / now.length;
        const variance = now.reduce((a, b) => a + b * b, 0) / now.length;
        assert.ok(
          Math.abs(mean) < 0.1 && Math.abs(variance - 0.25 / 3) < 0.03,
          `${mean} ${variance}`,
        );
      }
    }
  }
  // The model's variables got the new values too.
  const kernel = model.trainableWeights.find((w) => w.name.startsWith(chosen.name))!;
  assert.deepEqual(
    kernel.read().dataSync(),
    after.subarray(chosen.segments[0].offset, chosen.segments[0].offset + 128),
  );
  pv.dispose();
  ops.dispose();
  model.dispose();
});

/** Skips every optimizer step, so that only reinitialisation changes the weights. */
const frozen: Method = {
  name: 'frozen',
  match: (e) => e === Event.BEFORE_STEP,
  apply: (_e, s) => void (s.skipStep = true),
};

async function weightsPerEpoch(
  method: Method,
): Promise<{ epochs: Float32Array[]; segments: ParamVector['segments'] }> {
  const model = tinyMlp([16, 8], 6);
  const epochs: Float32Array[] = [];
  const trainer: Trainer = new Trainer({
    model,
    trainData: tinyData(32, 1),
    maxDuration: '4ep',
    batchSize: 16,
    seed: 2,
    kernels: 'js',
    methods: [frozen, method],
    callbacks: [
      {
        onFitStart: () => void epochs.push(paramsOf(trainer)),
        onEpochEnd: () => void epochs.push(paramsOf(trainer)),
      },
    ],
  });
  await trainer.fit();
  const segments = trainer.state.pv.segments;
  trainer.dispose();
  model.dispose();
  return { epochs, segments };
}

function changedLayers(
  a: Float32Array,
  b: Float32Array,
  segments: ParamVector['segments'],
): string[] {
  const layers = new Set<string>();
  for (const s of segments) {
    for (let i = s.offset; i < s.offset + s.length; i++) if (a[i] !== b[i]) layers.add(s.layer);
  }
  return [...layers];
}

test('reinit last-k: the last k layers are re-drawn every period, the rest never change', async () => {
  const { epochs, segments } = await weightsPerEpoch(
    reinit({ mode: 'last-k', k: 2, every: '1ep' }),
  );
  const names = [...new Set(segments.map((s) => s.layer))];
  // Epoch 1 trains from the fit's start weights; re-draws happen at the starts of epochs 2, 3, 4
  // (seen at the ends of epochs 2, 3, 4).
  assert.deepEqual(changedLayers(epochs[0], epochs[1], segments), []);
  for (const e of [2, 3, 4])
    assert.deepEqual(changedLayers(epochs[e - 1], epochs[e], segments), names.slice(1));
});

test('reinit layerwise: the s-th event keeps the first s layers and re-draws the others', async () => {
  const { epochs, segments } = await weightsPerEpoch(reinit({ mode: 'layerwise', every: '1ep' }));
  const names = [...new Set(segments.map((s) => s.layer))];
  assert.deepEqual(changedLayers(epochs[1], epochs[2], segments), names.slice(1));
  assert.deepEqual(changedLayers(epochs[2], epochs[3], segments), names.slice(2));
  assert.deepEqual(changedLayers(epochs[3], epochs[4], segments), []); // all three kept
});

test('bad reinit options are UsageErrors naming them', () => {
  assert.throws(() => reinit({ mode: 'random' as never }), /reinit: mode = "random" is not valid/);
  assert.throws(() => reinit({ k: 0 }), /reinit: k = 0 is not valid/);
  assert.throws(() => reinit({ every: 'often' }), /reinit: every = "often" is not valid/);
});

test('reinit skips training-only layers (ALASCA heads): last-k re-draws the classifier', async () => {
  const { addAuxHeads } = await import('../../src/methods/alasca/index.js');
  const base = tinyMlp([16, 8], 6);
  const model = addAuxHeads(base);
  base.dispose();
  const log: string[][] = [];
  const trainer = new Trainer({
    model,
    trainData: tinyData(32, 1),
    maxDuration: '2ep',
    batchSize: 16,
    kernels: 'js',
    methods: [reinit({ k: 1, every: '1ep' })],
    callbacks: [{ onLog: (r) => void (r.event === 'reinit' && log.push(r.layers as string[])) }],
  });
  await trainer.fit();
  const classifier = model.layers.filter((l) => l.getClassName() === 'Dense').pop()!.name;
  assert.deepEqual(log, [[classifier]]);
  trainer.dispose();
  model.dispose();
});

/**
 * A mask in force: after every optimizer step (AdamW with decay, SGD with momentum and coupled
 * decay, Nesterov) the pruned weights are exactly 0, in the flat vector, in the model's variables
 * and in every optimizer state buffer, while the kept weights train.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { installMask } from '../../src/pruning/apply.js';
import { computeMask, prunableSegments } from '../../src/pruning/criteria.js';
import { gradualPruning } from '../../src/methods/gradual-pruning/index.js';
import { Trainer } from '../../src/train/trainer.js';
import { modelWeights, tinyData, tinyMlp, useTfCpu } from '../train/helpers.js';

before(useTfCpu);

const OPTIMIZERS = [
  { name: 'adamw', lr: 1e-2, weightDecay: 0.1 },
  { name: 'sgd', lr: 0.1, momentum: 0.9, weightDecay: 1e-2 },
  { name: 'sgd', lr: 0.1, momentum: 0.9, nesterov: true },
];

for (const optimizer of OPTIMIZERS) {
  test(`${JSON.stringify(optimizer)}: pruned weights and their state stay exactly 0`, async () => {
    const model = tinyMlp([16, 8], 3);
    let pruned: number[] = [];
    let checks = 0;
    // -0 counts as exactly zero.
    const zero = (x: number, what: string) => assert.ok(x === 0, `${what} is ${x}`);
    const check = () => {
      const p = pv.ops.download(pv.params);
      const w = modelWeights(model);
      const buffers = Object.values(trainer.state.optimizer.stateDict().buffers);
      assert.ok(buffers.length > 0);
      for (const i of pruned) {
        zero(p[i], `param ${i}`);
        zero(w[i], `model weight ${i}`);
        for (const b of buffers) zero(b[i], `optimizer state ${i}`);
      }
      checks++;
    };
    const trainer = new Trainer({
      model,
      trainData: tinyData(128, 5),
      maxDuration: '8ba',
      batchSize: 16,
      kernels: 'js',
      optimizer,
      callbacks: [{ onBatchEnd: () => (pruned.length > 0 ? check() : undefined) }],
    });
    const { pv } = trainer.state;
    // Train a little first so the optimizer state is non-zero everywhere when the mask arrives.
    await trainer.fit({ duration: '3ba' });
    const mask = computeMask(pv, { criterion: 'global-magnitude', sparsity: 0.6 });
    installMask(pv, mask, trainer.state.optimizer);
    pruned = [...mask.keys()].filter((i) => mask[i] === 0);
    assert.equal(pruned.length, Math.round(0.6 * 128));
    const keptBefore = pv.ops.download(pv.params);
    check();
    await trainer.fit({ duration: '5ba' });
    const after = pv.ops.download(pv.params);
    const changed = [...mask.keys()].filter((i) => mask[i] === 1 && after[i] !== keptBefore[i]);
    assert.ok(changed.length > 100, 'the kept weights trained');
    assert.equal(checks, 6, 'checked after each of the 5 steps');
    trainer.dispose();
    model.dispose();
  });
}

test('gradual pruning in the Trainer: the mask grows to the target, pruned weights 0 at every step', async () => {
  const model = tinyMlp([16, 8], 4);
  const method = gradualPruning({ target: 0.75, start: 2, end: '10ba', frequency: '2ba' });
  const seen: number[] = [];
  const trainer = new Trainer({
    model,
    trainData: tinyData(192, 6),
    maxDuration: '12ba',
    batchSize: 16,
    kernels: 'js',
    optimizer: { name: 'sgd', lr: 0.1, momentum: 0.9 },
    methods: [method],
    callbacks: [
      {
        onBatchEnd: (s) => {
          const mask = s.pv.mask ? s.pv.ops.download(s.pv.mask) : null;
          const p = s.pv.ops.download(s.pv.params);
          const zeros = mask ? mask.filter((m) => m === 0).length : 0;
          seen.push(zeros);
          if (mask) for (let i = 0; i < p.length; i++) if (mask[i] === 0) assert.ok(p[i] === 0);
        },
      },
    ],
  });
  await trainer.fit();
  const segment = prunableSegments(trainer.state.pv)[0];
  assert.equal(segment.length, 128);
  // Zhu & Gupta at the pruning steps 2, 4, 6, 8 (T = 8), then 0.75 from step 10 on.
  const at = (t: number) => Math.round((0.75 + (0 - 0.75) * (1 - (t - 2) / 8) ** 3) * 128);
  const expected = [0, 0, at(2), at(2), at(4), at(4), at(6), at(6), at(8), at(8), 96, 96];
  assert.deepEqual(seen, expected);
  trainer.dispose();
  model.dispose();
});

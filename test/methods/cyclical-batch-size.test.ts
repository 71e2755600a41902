/**
 * Cyclical batch size through the Trainer: the batches it trains on follow large -> small ->
 * large by samples seen (the triangle derived here), every epoch still visits each sample once,
 * a run resumed mid-epoch is bit-identical to one trained straight, a checkpoint of another
 * schedule is refused, and bad options name themselves.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { AnnealError } from '../../src/errors.js';
import {
  cyclicalBatchSize,
  cyclicalBatchSizeAt,
  type CyclicalBatchSizeOptions,
} from '../../src/methods/cyclical-batch-size/index.js';
import { createMethod, methodNames, variesBatchSize } from '../../src/methods/registry.js';
import { Trainer, type TrainerOptions } from '../../src/train/index.js';
import { throwsCode } from '../schedules/helpers.js';
import { paramsOf, tinyData, tinyMlp, useTfCpu } from '../train/helpers.js';
import { maxOf } from '../../src/stats.js';

before(useTfCpu);

/** The size the paper's triangle gives after `seen` of `run` samples: max at 0, min halfway. */
function triangleSize(seen: number, run: number, min: number, max: number): number {
  const p = seen / run;
  const towardsMin = p < 0.5 ? p / 0.5 : (1 - p) / 0.5;
  return Math.round(max + (min - max) * towardsMin);
}

interface Seen {
  epoch: number;
  size: number;
  indices: number[];
}

function trainer(opts: CyclicalBatchSizeOptions, extra: Partial<TrainerOptions> = {}) {
  const seen: Seen[] = [];
  const t = new Trainer({
    model: tinyMlp([8], 3),
    trainData: tinyData(40, 6),
    maxDuration: '2ep',
    batchSize: 16,
    seed: 9,
    kernels: 'js',
    schedules: { lr: { name: 'cosine' } },
    methods: [cyclicalBatchSize(opts)],
    callbacks: [
      {
        onBatchStart: (s) =>
          void seen.push({
            epoch: s.timestamp.epoch,
            size: s.batch!.size,
            indices: [...s.batch!.data.indices],
          }),
      },
    ],
    ...extra,
  });
  return { t, seen };
}

test('it is the one registered method that varies the batch size', () => {
  assert.deepEqual(methodNames().filter(variesBatchSize), ['cyclical-batch-size']);
});

test('the twin is the triangle max -> min -> max over the run, in samples', () => {
  for (const seen of [0, 10, 33, 50, 51, 77, 99]) {
    assert.equal(
      cyclicalBatchSizeAt(seen, { min: 4, max: 64, runSamples: 100 }),
      triangleSize(seen, 100, 4, 64),
      `after ${seen}`,
    );
  }
  // min defaults to a quarter of max, rounded up.
  assert.equal(cyclicalBatchSizeAt(50, { max: 30, runSamples: 100 }), 8);
});

test('the Trainer trains on the planned sizes, and each epoch visits every sample once', async () => {
  const { t, seen } = trainer({ min: 4 });
  const result = await t.fit();
  // Expected plan, worked out from the triangle with cuts at the epoch (40) and run (80) ends.
  const expected: number[] = [];
  for (let done = 0; done < 80;) {
    const size = Math.min(triangleSize(done, 80, 4, 16), 40 - (done % 40), 80 - done);
    expected.push(size);
    done += size;
  }
  assert.deepEqual(
    seen.map((b) => b.size),
    expected,
  );
  assert.equal(maxOf(expected), 16);
  assert.ok(expected.includes(4), `the smallest batch (4) comes mid-run: ${expected}`);
  for (const epoch of [0, 1]) {
    const visited = seen.filter((b) => b.epoch === epoch).flatMap((b) => b.indices);
    assert.deepEqual(
      [...visited].sort((a, b) => a - b),
      Array.from({ length: 40 }, (_, i) => i),
      `epoch ${epoch}`,
    );
  }
  assert.equal(result.timestamp.samples, 80);
  assert.equal(result.timestamp.epoch, 2);
  assert.equal(result.timestamp.step, expected.length);
  assert.equal(t.state.maxSteps, expected.length, 'the lr schedule spans the planned steps');
  assert.equal(result.metrics['cyclical-batch-size/value'], expected[expected.length - 1]);
  t.dispose();
});

test('fit({ duration }) in epochs counts on from the samples seen, however many batches that takes', async () => {
  const { t, seen } = trainer({ min: 4 });
  const first = await t.fit({ duration: '1ep' });
  assert.equal(first.timestamp.samples, 40);
  assert.equal(first.timestamp.epoch, 1);
  assert.equal(first.timestamp.step, seen.length);
  // Half an epoch more counts on from sample 40 (the small batches of mid-run): the step
  // nearest to sample 60, i.e. within half a batch of it.
  const second = await t.fit({ duration: '0.5ep' });
  const last = seen[seen.length - 1].size;
  const next = t.state.timeline.batchSizeAt(second.timestamp.step);
  assert.ok(
    Math.abs(second.timestamp.samples - 60) <= Math.max(last, next) / 2,
    `${second.timestamp.samples} samples, batches ${last} and ${next} around it`,
  );
  const third = await t.fit();
  assert.equal(third.timestamp.samples, 80);
  assert.equal(third.runComplete, true);
  t.dispose();
});

test('resumed mid-epoch, the run is bit-identical to one trained straight', async () => {
  const straight = trainer({ min: 4 });
  await straight.t.fit();
  const dir = mkdtempSync(join(tmpdir(), 'anneal-cbs-'));
  const first = trainer({ min: 4 }, { checkpoint: { dir, interval: '3ba' } });
  await first.t.fit({ duration: '3ba' });
  assert.ok(first.t.state.timestamp.samples < 40, 'the checkpoint is inside epoch 0');
  first.t.dispose();
  const resumed = trainer({ min: 4 }, { resumeFrom: join(dir, 'checkpoint-3.ck') });
  await resumed.t.fit();
  assert.deepEqual(resumed.seen, straight.seen.slice(3));
  assert.deepEqual(paramsOf(resumed.t), paramsOf(straight.t));
  const other = trainer({ min: 8 }, { resumeFrom: join(dir, 'checkpoint-3.ck') });
  await assert.rejects(other.t.fit(), (e: unknown) => {
    assert.ok(e instanceof AnnealError && e.code === 'ANNEAL_CHECKPOINT_MISMATCH', String(e));
    assert.match(
      (e as Error).message,
      /trained on \d+ samples in its 3 steps, this run's batch sizes make \d+/,
    );
    return true;
  });
  for (const x of [straight, resumed, other]) x.t.dispose();
});

test('bad options and settings are refused with errors that name them', () => {
  throwsCode(() => cyclicalBatchSize({ min: 0 }), 'ANNEAL_BAD_METHOD_OPTION', 'min = 0', '>= 1');
  throwsCode(() => cyclicalBatchSize({ max: 2.5 }), 'ANNEAL_BAD_METHOD_OPTION', 'max = 2.5');
  throwsCode(() => cyclicalBatchSize({ min: 32, max: 16 }), 'ANNEAL_BAD_METHOD_OPTION', 'min = 32');
  throwsCode(
    () => createMethod('cyclical-batch-size', { factor: 1 }),
    'ANNEAL_BAD_SCHEDULE',
    'factor',
  );
  // min above the Trainer's batch size (the default max) is found when the run is planned.
  throwsCode(() => trainer({ min: 32 }), 'ANNEAL_BAD_METHOD_OPTION', 'min = 32', 'max = 16');
  throwsCode(() => trainer({}, { maxDuration: '10ba' }), 'ANNEAL_DURATION_UNITS', "'10ba'");
  throwsCode(() => trainer({}, { dropLast: true }), 'ANNEAL_BAD_OPTION', 'dropLast');
  throwsCode(
    () => trainer({}, { evalInterval: '20sp' }),
    'ANNEAL_BAD_OPTION',
    'evalInterval',
    "'1ep'",
  );
  throwsCode(
    () => trainer({}, { methods: [cyclicalBatchSize(), createMethod('cyclical-batch-size')] }),
    'ANNEAL_BAD_OPTION',
    'use only one',
  );
});

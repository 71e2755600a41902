/**
 * NaN guard: finds the segments holding non-finite values; in the Trainer a step whose gradient
 * has an injected NaN is skipped (weights unchanged) and the segment is named; 'stop' ends the
 * run; a non-finite loss is caught too.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { findNonFiniteSegments, nanGuard } from '../../src/methods/index.js';
import { Event } from '../../src/train/events.js';
import type { LogRecord, Method } from '../../src/train/method.js';
import { Trainer } from '../../src/train/trainer.js';
import { FAST_KERNELS, KERNEL_BACKENDS, tinyData, tinyMlp, useTfCpu } from '../train/helpers.js';
import { vectorOf } from '../optim/helpers.js';

before(useTfCpu);

test('findNonFiniteSegments names each segment with NaN or Inf and counts them', () => {
  for (const backend of KERNEL_BACKENDS.filter((b) => !b.skip)) {
    const ops = backend.create();
    const { pv, variables } = vectorOf(ops, {
      'a/kernel': { shape: [2, 2], values: [1, 2, 3, 4] },
      'a/bias': { shape: [2], values: [0, 0] },
      'b/kernel': { shape: [3], values: [0, 0, 0] },
    });
    // Layout: a/kernel 0..3, a/bias 4..5, b/kernel 6..8.
    ops.upload(pv.grads, Float32Array.from([0, NaN, 0, 0, 0, 0, Infinity, -Infinity, 1]));
    assert.deepEqual(
      findNonFiniteSegments(pv).map(({ count, offset, length }) => ({ count, offset, length })),
      [
        { count: 1, offset: 0, length: 4 },
        { count: 2, offset: 6, length: 3 },
      ],
    );
    assert.deepEqual(findNonFiniteSegments(pv, pv.params), []);
    pv.dispose();
    tf.dispose(variables);
    ops.dispose();
  }
});

/** At AFTER_BACKWARD of step(s) `at`, writes NaN into element 3 of the segment `segment`. */
function injectNaN(at: number | number[], segment: number): Method {
  const steps = [at].flat();
  return {
    name: 'inject_nan',
    match: (event, state) => event === Event.AFTER_BACKWARD && steps.includes(state.timestamp.step),
    apply: (_e, state) => {
      const grads = state.ops.download(state.pv.grads);
      grads[state.pv.segments[segment].offset + 3] = NaN;
      state.ops.upload(state.pv.grads, grads);
    },
  };
}

function guardedRun(
  policy: 'skip' | 'stop' | 'off',
  methods: Method[],
  opts: { readEvery?: number; optimizer?: string; dir?: string; resumeFrom?: string } = {},
) {
  const params: Float32Array[] = [];
  const records: LogRecord[] = [];
  const guard = policy === 'off' ? [] : [nanGuard({ policy, readEvery: opts.readEvery })];
  const trainer = new Trainer({
    model: tinyMlp(),
    trainData: tinyData(100),
    maxDuration: '6ba',
    batchSize: 20,
    kernels: FAST_KERNELS,
    optimizer: opts.optimizer,
    methods: [...guard, ...methods],
    checkpoint: opts.dir ? { dir: opts.dir, interval: '3ba', keep: 5 } : undefined,
    resumeFrom: opts.resumeFrom,
    callbacks: [
      {
        onBatchStart: (s) => void params.push(s.ops.download(s.pv.params)),
        onLog: (r) => void records.push(r),
      },
    ],
  });
  return { trainer, params, records };
}

test("policy 'skip' skips the step with a NaN gradient, leaves the weights, names the segment", async () => {
  // AFTER_BACKWARD runs methods in reverse order: the injector, then the guard.
  const { trainer, params, records } = guardedRun('skip', [injectNaN(2, 2)]);
  const result = await trainer.fit();
  const after = trainer.ops.download(trainer.state.pv.params);
  params.push(after);
  assert.equal(result.timestamp.step, 6);
  assert.equal(result.stopReason, null);
  assert.deepEqual(params[3], params[2], 'the weights after step 2 are those before it');
  for (const i of [0, 1, 3, 4, 5]) assert.notDeepEqual(params[i + 1], params[i], `step ${i} moved`);
  assert.equal(trainer.state.optimizer.stepCount, 5);
  assert.equal(result.metrics['nan-guard/skipped'], 1);
  const name = trainer.state.pv.segments[2].name;
  assert.deepEqual(records, [
    {
      event: 'nan-guard',
      step: 2,
      epoch: 0,
      policy: 'skip',
      skippedSteps: 1,
      lastStep: 2,
      loss: String(records[0].loss),
      nonFinite: 1,
      segments: [{ name, count: 1 }],
    },
  ]);
  assert.ok(Number.isFinite(Number(records[0].loss)), 'the loss itself was finite');
  trainer.dispose();
});

test("policy 'stop' ends the run at the bad step, without applying it", async () => {
  const { trainer, params } = guardedRun('stop', [injectNaN(3, 0)]);
  const result = await trainer.fit();
  assert.equal(result.timestamp.step, 4);
  assert.ok(result.runComplete);
  const name = trainer.state.pv.segments[0].name;
  assert.match(
    result.stopReason!,
    new RegExp(`non-finite gradient in '${name}' \\(1 of 1024\\) at step 3`),
  );
  assert.deepEqual(trainer.ops.download(trainer.state.pv.params), params[3]);
  trainer.dispose();
});

/** Skips step `at` on the host, as a guard that reads every step does: the reference. */
function skipOnHost(at: number): Method {
  return {
    name: 'skip_on_host',
    match: (event, state) => event === Event.AFTER_BACKWARD && state.timestamp.step === at,
    apply: (_e, state) => void (state.skipStep = true),
  };
}

test('read every 4 steps, the skip happens on the kernels: the run equals one that skipped on the host', async () => {
  for (const optimizer of ['adamw', 'momentum']) {
    const late = guardedRun('skip', [injectNaN(2, 1)], { readEvery: 4, optimizer });
    const result = await late.trainer.fit();
    const reference = guardedRun('off', [skipOnHost(2)], { optimizer });
    await reference.trainer.fit();
    // Step 3 ran while the host still counted the skipped step 2: the kernels recounted it.
    const got = [...late.trainer.ops.download(late.trainer.state.pv.params)];
    const want = [...reference.trainer.ops.download(reference.trainer.state.pv.params)];
    got.forEach((g, i) =>
      assert.ok(
        Math.abs(g - want[i]) <= 1e-6 * Math.abs(want[i]) + 1e-7,
        `${optimizer}: weight ${i}`,
      ),
    );
    assert.deepEqual(
      late.params[3],
      late.params[2],
      'the weights after step 2 are those before it',
    );
    assert.equal(late.trainer.state.optimizer.stepCount, 5);
    assert.equal(result.metrics['nan-guard/skipped'], 1);
    // Read at step 3, after the bad step's gradient was replaced: no segments to name.
    assert.deepEqual(
      late.records.map(({ step, skippedSteps, lastStep, segments }) => ({
        step,
        skippedSteps,
        lastStep,
        segments,
      })),
      [{ step: 3, skippedSteps: 1, lastStep: 2, segments: [] }],
    );
    late.trainer.dispose();
    reference.trainer.dispose();
  }
});

test('a bad step that another method skips on the host is not taken off the step count twice', async () => {
  const both = guardedRun('skip', [injectNaN(2, 1), skipOnHost(2)], { readEvery: 4 });
  const result = await both.trainer.fit();
  const reference = guardedRun('off', [skipOnHost(2)]);
  await reference.trainer.fit();
  assert.equal(result.metrics['nan-guard/skipped'], 1, 'the hit is counted');
  // The kernels never ran step 2, so they counted no skip: 5 steps taken, as in the reference.
  assert.equal(both.trainer.state.optimizer.stepCount, 5);
  assert.deepEqual(
    both.trainer.ops.download(both.trainer.state.pv.params),
    reference.trainer.ops.download(reference.trainer.state.pv.params),
  );
  both.trainer.dispose();
  reference.trainer.dispose();
});

test("'stop' read every 4 steps stops at the read, naming the bad step", async () => {
  const { trainer } = guardedRun('stop', [injectNaN([1, 2], 0)], { readEvery: 4 });
  const result = await trainer.fit();
  assert.equal(result.timestamp.step, 4);
  assert.equal(
    result.stopReason,
    'NaN guard: non-finite gradient or loss in 2 steps, the latest at step 2; they were skipped',
  );
  trainer.dispose();
});

test('resumed from a checkpoint written between a hit and its read, a run acts where the straight run did', async () => {
  // The NaN at step 1 is read at step 3 (every 4); the checkpoint after step 2 holds it unread.
  for (const policy of ['stop', 'skip'] as const) {
    const dir = mkdtempSync(join(tmpdir(), 'anneal-nan-guard-'));
    try {
      const straight = guardedRun(policy, [injectNaN(1, 0)], { readEvery: 4, dir });
      const want = await straight.trainer.fit();
      const resumed = guardedRun(policy, [], {
        readEvery: 4,
        resumeFrom: join(dir, 'checkpoint-3.ck'),
      });
      const got = await resumed.trainer.fit();
      assert.equal(want.timestamp.step, policy === 'stop' ? 4 : 6);
      assert.equal(got.timestamp.step, want.timestamp.step, policy);
      assert.equal(got.stopReason, want.stopReason, policy);
      assert.equal(got.metrics['nan-guard/skipped'], 1);
      assert.equal(
        resumed.trainer.state.optimizer.stepCount,
        straight.trainer.state.optimizer.stepCount,
      );
      assert.deepEqual(
        resumed.trainer.ops.download(resumed.trainer.state.pv.params),
        straight.trainer.ops.download(straight.trainer.state.pv.params),
        policy,
      );
      assert.deepEqual(
        resumed.records
          .filter((r) => r.event === 'nan-guard')
          .map((r) => [r.step, r.skippedSteps, r.lastStep]),
        [[3, 1, 1]],
        'the resumed run reports the hit at the read the straight run reported it',
      );
      straight.trainer.dispose();
      resumed.trainer.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});

test('an optimizer that takes no gate (Lookahead) is checked on the host each step', async () => {
  const { trainer, params, records } = guardedRun('skip', [injectNaN(2, 2)], {
    readEvery: 4,
    optimizer: 'lookahead_adamw',
  });
  await trainer.fit();
  assert.deepEqual(params[3], params[2], 'the weights after step 2 are those before it');
  assert.equal(records.length, 1);
  assert.equal(records[0].step, 2, 'found at the bad step itself');
  trainer.dispose();
});

test('a non-finite loss is caught, with or without non-finite gradients', async () => {
  const nanLoss: Method = {
    name: 'nan_loss',
    match: (event, state) => event === Event.AFTER_LOSS && state.timestamp.step === 1,
    apply: (_e, state) => void (state.loss = tf.mul(state.loss!, NaN) as tf.Scalar),
  };
  const inTape = guardedRun('stop', [nanLoss]);
  const result = await inTape.trainer.fit();
  assert.equal(result.timestamp.step, 2);
  assert.match(result.stopReason!, /non-finite gradient in .* at step 1/);
  inTape.trainer.dispose();

  // A loss that overflows while its gradient stays finite: the value + Infinity, the gradient
  // passed through as it is.
  const overflow = tf.customGrad((x) => ({
    value: tf.add(x as tf.Tensor, Infinity),
    gradFunc: (dy) => dy,
  }));
  const lossOnly: Method = {
    name: 'inf_loss_value',
    match: (event, state) => event === Event.AFTER_LOSS && state.timestamp.step === 4,
    apply: (_e, state) => void (state.loss = overflow(state.loss!) as tf.Scalar),
  };
  const alone = guardedRun('stop', [lossOnly]);
  const stopped = await alone.trainer.fit();
  assert.equal(stopped.timestamp.step, 5);
  assert.match(stopped.stopReason!, /non-finite loss Infinity at step 4/);
  alone.trainer.dispose();
  assert.throws(() => nanGuard({ policy: 'ignore' as 'skip' }), /policy = "ignore"/);
  assert.throws(() => nanGuard({ readEvery: 0 }), /readEvery = 0 is not valid/);
});

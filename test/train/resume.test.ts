/**
 * Checkpoints that resume exactly: 2 epochs straight vs 1 epoch + checkpoint + a new Trainer
 * that resumes (from an epoch boundary and from mid-epoch) give bit-identical losses and weights
 * on js and wasm kernels; a training process killed with SIGKILL between checkpoints resumes to
 * the uninterrupted run's losses; mismatched or corrupt checkpoints are refused and nothing is
 * overwritten.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  cpSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { earlyStopping, nanGuard } from '../../src/methods/index.js';
import { packageRoot } from '../../src/package-root.js';
import { readJsonl } from '../../src/logs/jsonl.js';
import { loadCheckpoint, resolveCheckpointPath } from '../../src/train/checkpoint.js';
import { Trainer, type TrainerOptions } from '../../src/train/trainer.js';
import {
  KERNEL_BACKENDS,
  killRunOptions,
  modelWeights,
  paramsOf,
  tinyData,
  tinyEvalData,
  tinyMlp,
  useTfCpu,
} from './helpers.js';
import { maxOf } from '../../src/stats.js';

before(useTfCpu);

/** Trains and returns the loss of every step and the final flat parameters. */
async function train(
  opts: TrainerOptions,
  duration?: string,
): Promise<{ losses: number[]; params: number[]; epochMetrics: Record<string, number>[] }> {
  const losses: number[] = [];
  const epochMetrics: Record<string, number>[] = [];
  const trainer = new Trainer({
    ...opts,
    callbacks: [
      {
        onBatchEnd: (s) => void losses.push(s.lossValue),
        onEvalEnd: (s) => void epochMetrics.push({ ...s.metrics }),
      },
    ],
  });
  await trainer.fit(duration === undefined ? {} : { duration });
  const params = [...paramsOf(trainer)];
  trainer.dispose();
  return { losses, params, epochMetrics };
}

for (const backend of KERNEL_BACKENDS) {
  test(
    `resuming reproduces the uninterrupted run bit for bit (${backend.name} kernels)`,
    { skip: backend.skip },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'anneal-resume-'));
      // 2,000 samples in batches of 50: 40 steps per epoch, 80 in the run.
      const run = (): TrainerOptions => ({
        model: tinyMlp([32], 1),
        trainData: tinyData(2000, 4),
        evalData: tinyEvalData(200),
        maxDuration: '2ep',
        batchSize: 50,
        seed: 9,
        kernels: backend.name,
        optimizer: { name: 'adamw', lr: 5e-3 },
        schedules: { lr: { name: 'cosine', warmup: '5ba' } },
        // 'max' on a falling loss keeps the first evaluation's weights as the best, so the
        // final (restored) weights come from early-stopping state that a resume must carry.
        methods: [nanGuard(), earlyStopping({ monitor: 'eval/loss', mode: 'max', patience: 10 })],
        checkpoint: { dir, interval: '25ba', keep: 10 },
      });
      const straight = await train({ ...run(), checkpoint: undefined });
      assert.equal(straight.losses.length, 80);
      assert.equal(straight.epochMetrics.length, 2);

      const first = await train(run(), '1ep'); // checkpoints at steps 25 and 40 (when fit returns)
      assert.deepEqual(first.losses, straight.losses.slice(0, 40));
      assert.deepEqual(readdirSync(dir).sort(), ['checkpoint-25.ck', 'checkpoint-40.ck', 'latest']);

      // The directory's `latest` names checkpoint-40, at the epoch boundary.
      const fromLatest = await train({ ...run(), resumeFrom: dir });
      assert.deepEqual(fromLatest.losses, straight.losses.slice(40));
      assert.deepEqual(fromLatest.params, straight.params);
      assert.deepEqual(fromLatest.epochMetrics, straight.epochMetrics.slice(1));

      const fromMiddle = await train({ ...run(), resumeFrom: join(dir, 'checkpoint-25.ck') });
      assert.deepEqual(fromMiddle.losses, straight.losses.slice(25));
      assert.deepEqual(fromMiddle.params, straight.params);
      // The first epoch's mean training loss and accuracy include the steps before the checkpoint.
      assert.deepEqual(fromMiddle.epochMetrics, straight.epochMetrics);
    },
  );
}

test('a training process killed between checkpoints resumes to the uninterrupted losses', async () => {
  const runDir = mkdtempSync(join(tmpdir(), 'anneal-kill-run-'));
  const script = join(packageRoot(), 'test/train/train-child.ts');
  const start = (mode: string, delayMs: number) =>
    spawn(process.execPath, ['--import', 'tsx', script, runDir, mode, String(delayMs)], {
      cwd: packageRoot(),
      stdio: ['ignore', 'pipe', 'inherit'],
    });

  // Slowed to ~20 ms a step, killed at the first "step N" with N >= 35: after the checkpoint
  // of step 30, before the one of step 40.
  const child = start('fresh', 20);
  let killedAt = -1;
  await new Promise<void>((resolve, reject) => {
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const steps = [...text.matchAll(/step (\d+)/g)].map((m) => Number(m[1]));
      if (killedAt < 0 && steps.some((s) => s >= 35)) {
        killedAt = maxOf(steps);
        child.kill('SIGKILL');
      }
    });
    child.once('exit', (code, signal) =>
      signal === 'SIGKILL' ? resolve() : reject(new Error(`child exited ${code} before the kill`)),
    );
  });

  // The run directory is readable: `latest` names a complete checkpoint, the log parses.
  const latest = resolveCheckpointPath(runDir);
  const latestStep = (loadCheckpoint(latest).meta.timestamp as { step: number }).step;
  assert.ok(
    latestStep >= 30 && latestStep <= killedAt,
    `latest ${latestStep}, killed at ${killedAt}`,
  );
  assert.ok(readJsonl(join(runDir, 'log.jsonl')).length > 0);

  const resumed = start('resume', 0);
  const code = await new Promise((r) => resumed.once('exit', r));
  assert.equal(code, 0);

  const reference = await train(killRunOptions());
  assert.equal(reference.losses.length, 160);
  const log = readJsonl(join(runDir, 'log.jsonl'));
  const resumeAt = log.findIndex((r) => r.event === 'resume');
  assert.ok(resumeAt > 0, 'the resumed run logged where it resumed from');
  const stepsOf = (records: typeof log) => records.filter((r) => r.event === 'batch_end');
  const beforeKill = stepsOf(log.slice(0, resumeAt));
  const afterResume = stepsOf(log.slice(resumeAt));
  assert.deepEqual(
    afterResume.map((r) => r.step),
    Array.from({ length: 160 - latestStep }, (_, i) => latestStep + 1 + i),
  );
  for (const r of [...beforeKill, ...afterResume]) {
    assert.equal(r.loss, reference.losses[(r.step as number) - 1], `loss of step ${r.step}`);
  }
  assert.equal(resolveCheckpointPath(runDir), join(runDir, 'checkpoints', 'checkpoint-160.ck'));
});

/** Every file under `dir` with its bytes, to show that nothing was written. */
function snapshot(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    try {
      files.set(name, readFileSync(join(dir, name)).toString('base64'));
    } catch {
      files.set(name, '(directory)');
    }
  }
  return files;
}

test('mismatched or corrupt checkpoints are refused, naming the difference, and change nothing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'anneal-mismatch-'));
  const base = (): TrainerOptions => ({
    model: tinyMlp([16], 2),
    trainData: tinyData(100),
    maxDuration: '2ep',
    batchSize: 20,
    kernels: 'js',
    checkpoint: { dir },
  });
  await train(base(), '1ep');
  const files = snapshot(dir);

  const refused = async (opts: TrainerOptions, code: string, ...words: string[]) => {
    const trainer = new Trainer(opts);
    const weights = modelWeights(opts.model as ReturnType<typeof tinyMlp>);
    await assert.rejects(trainer.fit(), (e: Error & { code?: string }) => {
      assert.equal(e.code, code, e.message);
      for (const w of words) assert.ok(e.message.includes(w), `"${e.message}" lacks "${w}"`);
      return true;
    });
    assert.deepEqual(
      modelWeights(opts.model as ReturnType<typeof tinyMlp>),
      weights,
      'weights unchanged',
    );
    trainer.dispose();
    assert.deepEqual(snapshot(dir), files, 'no file written or changed');
  };

  const resume = { resumeFrom: dir };
  await refused(
    { ...base(), ...resume, model: tinyMlp([8], 2) },
    'ANNEAL_CHECKPOINT_MISMATCH',
    'weight #0',
    '[64,16]',
    '[64,8]',
  );
  await refused(
    { ...base(), ...resume, batchSize: 10 },
    'ANNEAL_CHECKPOINT_MISMATCH',
    'batch size 20',
    '10',
  );
  await refused(
    { ...base(), ...resume, optimizer: 'sgd' },
    'ANNEAL_CHECKPOINT_MISMATCH',
    "'adamw'",
    "'sgd'",
  );
  await refused(
    { ...base(), ...resume, methods: [nanGuard()] },
    'ANNEAL_CHECKPOINT_MISMATCH',
    'nan-guard',
  );

  // Same shapes, other names: a model made of plain variables.
  const shapes: [string, number[]][] = [
    ['first/kernel', [64, 16]],
    ['first/bias', [16]],
    ['second/kernel', [16, 4]],
    ['second/bias', [4]],
  ];
  const variables = shapes.map(([name, shape]) => tf.variable(tf.zeros(shape), true, name));
  const plain = { variables, forward: (x: tf.Tensor) => x };
  const trainer = new Trainer({ ...base(), ...resume, model: plain });
  await assert.rejects(trainer.fit(), /weight #0 differs: .*'first\/kernel'/);
  trainer.dispose();
  tf.dispose(variables);
  assert.deepEqual(snapshot(dir), files);

  // Corrupt copies: a truncated checkpoint, and a `latest` naming a missing file.
  const truncated = mkdtempSync(join(tmpdir(), 'anneal-corrupt-'));
  cpSync(dir, truncated, { recursive: true });
  const target = resolveCheckpointPath(truncated);
  truncateSync(target, readFileSync(target).length - 8);
  await refused(
    { ...base(), resumeFrom: truncated },
    'ANNEAL_CHECKPOINT_CORRUPT',
    target,
    'truncated',
  );
  writeFileSync(join(truncated, 'latest'), 'checkpoint-99.ck\n');
  await refused(
    { ...base(), resumeFrom: truncated },
    'ANNEAL_CHECKPOINT_CORRUPT',
    'checkpoint-99.ck',
  );
  await refused(
    { ...base(), resumeFrom: join(dir, 'nope') },
    'ANNEAL_CHECKPOINT_NOT_FOUND',
    'nope',
  );
});

/**
 * The logging callbacks: log.jsonl records per N steps, epoch, evaluation, checkpoint and fit,
 * carrying the values the Trainer had at that moment; metrics.csv rows per epoch and
 * evaluation, kept up to the checkpoint and redone after a resume.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { ProgressCallback } from '../../src/cli/progress.js';
import { CsvLogger, csvField, parseCsvLine, readCsv } from '../../src/logs/csv.js';
import { JsonlLogger, readJsonl } from '../../src/logs/jsonl.js';
import { Trainer, type TrainerOptions } from '../../src/train/trainer.js';
import { tinyData, tinyEvalData, tinyMlp, useTfCpu } from './helpers.js';

before(useTfCpu);

test('JSONL and CSV loggers write what the Trainer had at each step, epoch and evaluation', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'anneal-logs-'));
  const losses: number[] = [];
  const evals: Record<string, number>[] = [];
  const options = (): TrainerOptions => ({
    model: tinyMlp(),
    trainData: tinyData(100),
    evalData: tinyEvalData(20),
    maxDuration: '2ep', // 5 steps per epoch
    batchSize: 20,
    kernels: 'js',
    optimizer: { name: 'adamw', lr: 2e-3 },
    checkpoint: { dir: join(dir, 'checkpoints'), interval: '1ep' },
  });
  const trainer = new Trainer({
    ...options(),
    callbacks: [
      new ProgressCallback(false),
      new JsonlLogger(join(dir, 'log.jsonl'), { everySteps: 3 }),
      new CsvLogger(join(dir, 'metrics.csv')),
      {
        onBatchEnd: (s) => void losses.push(s.lossValue),
        onEvalEnd: (s) => void evals.push({ ...s.metrics }),
      },
    ],
  });
  await trainer.fit();
  trainer.dispose();

  const log = readJsonl(join(dir, 'log.jsonl'));
  assert.deepEqual(
    log.map((r) => `${r.event}@${r.step}`),
    [
      'fit_start@0',
      'batch_end@3',
      'epoch_end@5',
      'eval_end@5',
      'checkpoint@5',
      'batch_end@6',
      'batch_end@9',
      'epoch_end@10',
      'eval_end@10',
      'checkpoint@10',
      'fit_end@10',
    ],
  );
  for (const r of log) {
    assert.equal(r.lr, 2e-3);
    assert.equal(typeof r.time, 'string');
    if (r.event === 'batch_end') assert.equal(r.loss, losses[(r.step as number) - 1]);
    if (r.event === 'eval_end') {
      assert.equal(r['eval/accuracy'], evals[(r.step as number) / 5 - 1]['eval/accuracy']);
    }
    if (r.event === 'epoch_end')
      assert.ok(!('eval/loss' in r), 'no stale evaluation in epoch rows');
  }
  assert.equal(log.at(-1)!.samples, 200);
  assert.equal(log.at(-1)!.runComplete, true);

  const rows = readCsv(join(dir, 'metrics.csv'));
  assert.deepEqual(
    rows.map((r) => `${r.event}@${r.step}`),
    ['epoch_end@5', 'eval_end@5', 'epoch_end@10', 'eval_end@10'],
  );
  assert.equal(rows[1]['eval/loss'], evals[0]['eval/loss']);
  assert.equal(rows[3]['train/accuracy'], evals[1]['train/accuracy']);
  assert.equal(rows[2]['eval/loss'], undefined);

  // Resumed from step 5, the rows of step 10 are dropped and written again, with equal values.
  const resumed = new Trainer({
    ...options(),
    resumeFrom: join(dir, 'checkpoints', 'checkpoint-5.ck'),
    callbacks: [new CsvLogger(join(dir, 'metrics.csv'))],
  });
  await resumed.fit();
  resumed.dispose();
  const withoutTimes = (r: Record<string, unknown>) => {
    const { trainSeconds: _t, evalSeconds: _e, ...rest } = r;
    return rest;
  };
  assert.deepEqual(readCsv(join(dir, 'metrics.csv')).map(withoutTimes), rows.map(withoutTimes));
});

test('CSV fields with commas or quotes round-trip', () => {
  const values = ['plain', 'a,b', 'say "hi"', '1.5'];
  assert.deepEqual(parseCsvLine(values.map(csvField).join(',')), values);
});

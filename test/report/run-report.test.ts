/**
 * From run directories to a report: summary rows (finished and still-running runs), training
 * points (a resumed run's repeated step counts once, its last record), the sections, and
 * sections registered for extra files (including the built-in curve.json one).
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { UsageError } from '../../src/errors.js';
import {
  buildRunReport,
  extraSections,
  loadSectionModules,
  registerReportSection,
  registeredSectionFiles,
  summaryRow,
  trainingPoints,
  type SectionSource,
} from '../../src/report/run-report.js';
import { loadRun, resolveRuns } from '../../src/report/runs.js';
import { evalAccuracyAt, lossAt, writeRun } from './fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'anneal-run-report-'));
const runs = join(root, 'runs');
const a = writeRun(join(runs, 'a'), { steps: 20, epochSteps: 10, lr: (s) => 0.003 * (1 - s / 20) });
// b is still training: 7 of its 30 steps logged, no summary.json yet.
const b = writeRun(join(runs, 'b'), { steps: 7, maxSteps: 30, epochSteps: 5, running: true });
// a was resumed from step 14: step 15 was logged again with another loss; the last one counts.
appendFileSync(
  join(a, 'log.jsonl'),
  JSON.stringify({ event: 'batch_end', step: 15, trainSeconds: 1.5, lr: 0.001, loss: 9 }) + '\n',
);
appendFileSync(join(a, 'log.jsonl'), '{"event":"batch_end","step":16,"lo'); // torn by a kill

test('resolveRuns finds the runs in a folder, names them by their path in it, and refuses non-runs', () => {
  assert.deepEqual(
    resolveRuns([runs]).map((r) => r.name),
    ['a', 'b'],
  );
  assert.deepEqual(
    resolveRuns([a, b]).map((r) => r.name),
    ['a', 'b'],
  );
  assert.throws(
    () => resolveRuns([join(root, 'missing')]),
    (e: unknown) => e instanceof UsageError && e.code === 'ANNEAL_REPORT_NO_RUN',
  );
  mkdirSync(join(root, 'empty'));
  assert.throws(() => resolveRuns([join(root, 'empty')]), /holds no run/);
  assert.throws(() => resolveRuns([a, runs]), /named twice/);
});

test('summary rows: recipe, budget, accuracy, train time, samples per second, kernels, backend, machine; a live run from its log', () => {
  const row = summaryRow(loadRun(a));
  assert.equal(row.run, 'a');
  assert.equal(row.recipe, 'mlp on mnist (256 samples), adamw lr 0.003, cosine, label-smoothing');
  assert.equal(row.budget, '2ep, 20 steps');
  assert.equal(row.accuracy, evalAccuracyAt(20));
  assert.equal(row['train time (s)'], 2);
  assert.equal(row['samples per second'], 320);
  assert.equal(row.kernels, 'js');
  assert.equal(row.backend, 'wasm');
  assert.equal(row.machine, 'Test CPU x2');
  assert.equal(row.status, 'done');

  const live = summaryRow(loadRun(b));
  assert.equal(live.status, 'running (7/30 steps)');
  // The latest evaluation (after step 5) and the latest step's time: 7 steps x 32 in 0.7 s.
  assert.equal(live.accuracy, evalAccuracyAt(5));
  assert.ok(Math.abs((live['samples per second'] as number) - (7 * 32) / 0.7) < 1e-9);
  assert.equal(live.machine, 'not recorded');
});

test('training points: every logged value once per step, the last record of a repeated step', () => {
  const points = trainingPoints([loadRun(a), loadRun(b)]);
  const loss = points.loss.filter((p) => p.run === 'a' && p.metric === 'batch loss');
  assert.equal(loss.length, 20);
  for (const p of loss) assert.equal(p.value, p.step === 15 ? 9 : lossAt(p.step));
  assert.deepEqual(
    points.accuracy.filter((p) => p.run === 'b').map((p) => [p.metric, p.step, p.value]),
    [
      ['train/accuracy', 5, 0.6],
      ['eval/accuracy', 5, evalAccuracyAt(5)],
    ],
  );
  assert.equal(points.lr.filter((p) => p.run === 'a').length, 20);
  assert.equal(points.lr.find((p) => p.run === 'a' && p.step === 10)!.value, 0.003 * 0.5);
});

test('the report: summary rows, the training curves of every run, and its data', async () => {
  const report = await buildRunReport([loadRun(a), loadRun(b)], { title: 't' });
  assert.equal(report.summary.length, 2);
  const curves = report.sections.find((s) => s.title === 'Training curves')!;
  assert.equal(curves.svg!.length, 4); // loss, accuracy, lr, throughput
  assert.deepEqual(
    (report.data as { runs: { name: string }[] }).runs.map((r) => r.name),
    ['a', 'b'],
  );
});

test('registered sections get every run holding their file; a bad file becomes a note, not a crash', async () => {
  writeFileSync(join(a, 'extra.json'), JSON.stringify({ n: 1 }));
  writeFileSync(join(b, 'extra.json'), '{"n": 2');
  const calls: SectionSource[][] = [];
  registerReportSection('extra.json', (found) => {
    calls.push(found);
    return found.map(({ run, data }) => ({
      title: `extra ${run.name}`,
      text: JSON.stringify(data),
    }));
  });
  const sections = await extraSections([loadRun(a), loadRun(b)]);
  assert.equal(calls.length, 1);
  assert.deepEqual(
    calls[0].map((f) => [f.run.name, f.data]),
    [['a', { n: 1 }]],
  );
  assert.ok(sections.some((s) => s.title === 'extra a' && s.text === '{"n":1}'));
  assert.ok(sections.some((s) => s.title === 'extra.json (b)' && /could not read/.test(s.text!)));
});

test('section modules under src/report/sections/ register themselves (curve.json from anneal curve)', async () => {
  await loadSectionModules();
  assert.ok(registeredSectionFiles().includes('curve.json'), registeredSectionFiles().join(', '));
});

test('a builder that throws becomes a note naming the file and runs', async () => {
  writeFileSync(join(a, 'broken.json'), '{}');
  registerReportSection('broken.json', () => {
    throw new Error('no points');
  });
  const sections = await extraSections([loadRun(a)]);
  assert.ok(
    sections.some(
      (s) =>
        s.title === 'broken.json (a)' && /could not chart broken.json: no points/.test(s.text!),
    ),
  );
});

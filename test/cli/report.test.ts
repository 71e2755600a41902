/**
 * `anneal report` on a tiny real training run and a hand-written one, `anneal schedule --out
 * x.svg`, and the user errors of `anneal report` and `anneal view`: each prints what it wrote.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeRun } from '../report/fixtures.js';
import { markGroups } from '../report/svg.js';
import { anneal, assertUserError } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'anneal-report-cli-'));

test('anneal report writes one HTML page of a trained run and a hand-written one, and prints its path', () => {
  const trained = join(dir, 'runs', 'trained');
  const t = anneal([
    'train',
    '--data',
    'mnist',
    '--limit',
    '128',
    '--test-limit',
    '64',
    '--model',
    'mlp',
    '--epochs',
    '2',
    '--batch-size',
    '32',
    '--log-every',
    '1',
    '--out',
    trained,
    '--no-progress',
  ]);
  assert.equal(t.code, 0, t.stderr);
  writeRun(join(dir, 'runs', 'written'), { steps: 8, epochSteps: 4 });
  const out = join(dir, 'out', 'report.html');
  const r = anneal(['report', join(dir, 'runs'), '--out', out, '--title', 'tiny runs']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), `report: ${out}`);
  const html = readFileSync(out, 'utf8');
  assert.ok(html.includes('<title>tiny runs</title>'));
  const summary = /<table class="table summary">[\s\S]*?<\/table>/.exec(html)![0];
  assert.equal(summary.match(/<tr>/g)!.length, 1 + 2); // header + one row per run
  assert.ok(summary.includes('>trained<') && summary.includes('>written<'));
  // Four charts (loss, accuracy, lr, throughput), each with one line per run for one metric.
  const svgs = html.match(/<svg [\s\S]*?<\/svg>/g)!;
  assert.equal(svgs.length, 4);
  const lrLines = markGroups(svgs[2]).filter((g) => g.type === 'line');
  assert.equal(lrLines.length, 2);
  // The data block holds both runs' summaries: 2 epochs of 128 samples in batches of 32.
  const data = JSON.parse(
    /<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(html)![1],
  );
  assert.equal(
    data.runs.find((x: { name: string }) => x.name === 'trained').summary.steps,
    2 * (128 / 32),
  );
});

test('anneal report: a missing run directory is a one-line user error, and nothing is written', () => {
  assertUserError(
    anneal(['report', join(dir, 'nope'), '--out', join(dir, 'x.html')]),
    'nope is not a directory',
  );
  assert.ok(!existsSync(join(dir, 'x.html')));
});

test('anneal schedule --out lr.svg writes the schedule as an SVG chart and prints its path', () => {
  const out = join(dir, 'lr.svg');
  const spec = '{"name":"sgdr","t0":"100ba","tMult":2}';
  const r = anneal(['schedule', '--spec', spec, '--steps', '700', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stdout.includes(`wrote ${out}`));
  const svg = readFileSync(out, 'utf8');
  assert.match(svg, /^<svg /);
  assert.equal(markGroups(svg).filter((g) => g.name === 'schedule').length, 1);
  // SGDR with t0 = 100 and tMult = 2 restarts after steps 100 and 300 within 700 steps.
  assert.equal(markGroups(svg).find((g) => g.name === 'cycle_ends')!.items.length, 2);
});

test('anneal view: a runs folder that does not exist is a one-line user error', () => {
  assertUserError(anneal(['view', join(dir, 'nope')]), 'is not a directory');
});

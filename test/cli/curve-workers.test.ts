/**
 * `anneal curve --workers 2`: the runs trained at once in worker threads give the curve of the
 * same command run one after another (tfjs-cpu and the js kernels: the same bits in any thread).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { anneal } from './helpers.js';

const args = [
  ...'curve --data synthetic --limit 200 --test-limit 60 --model mlp --batch-size 20'.split(' '),
  ...'--backend cpu --kernels js --threads 1 --recipes baseline,label-smoothing'.split(' '),
  ...'--cycles 2 --first-cycle 0.5ep --seeds 2 --multi-run --no-progress'.split(' '),
];

function curve(workers: number) {
  const out = join(mkdtempSync(join(tmpdir(), 'anneal-curve-cli-')), 'curve');
  const r = anneal([...args, '--workers', String(workers), '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  return { stdout: r.stdout, json: JSON.parse(readFileSync(join(out, 'curve.json'), 'utf8')) };
}

test('anneal curve --workers 2 writes the curve.json of the runs one after another', () => {
  const one = curve(1);
  const two = curve(2);
  assert.match(two.stdout, /2 runs at once in worker threads/);
  // A line per point either way: 2 seeds x (2 recipes x 2 cycles + 2 separate runs).
  const pointLines = (s: string) => s.split('\n').filter((l) => /test accuracy/.test(l)).length;
  assert.equal(pointLines(one.stdout), 12);
  assert.equal(pointLines(two.stdout), 12);
  assert.deepEqual(Object.keys(two.json), Object.keys(one.json));
  for (const key of ['settings', 'base', 'schedules', 'complete']) {
    assert.deepEqual(two.json[key], one.json[key], key);
  }
  const untimed = (points: Record<string, unknown>[]) =>
    points.map(({ trainSeconds: _t, evalSeconds: _e, ...rest }) => rest);
  assert.deepEqual(untimed(two.json.points), untimed(one.json.points));
});

/**
 * `anneal list`: every name each registry accepts appears, with its summary, under its heading;
 * an unknown kind is one line and exit 2.
 */
import assert from 'node:assert/strict';
import { probeCuda } from '../../src/kernels/index.js';
import { test } from 'node:test';
import { listing } from '../../src/cli/list.js';
import { BACKEND_NAMES } from '../../src/engine/index.js';
import { METHODS } from '../../src/methods/registry.js';
import { MODEL_NAMES } from '../../src/models/index.js';
import { OPTIMIZERS } from '../../src/optim/registry.js';
import { scheduleNames } from '../../src/schedules/index.js';
import { anneal, assertUserError } from './helpers.js';

/** The names listed under the heading that starts with `kind`. */
function listed(text: string, kind: string): Map<string, string> {
  const block = text.split('\n\n').find((b) => b.startsWith(kind));
  assert.ok(block, `no ${kind} section in:\n${text}`);
  const rows = block.split('\n').slice(1);
  return new Map(
    rows.map((row) => {
      const [, name, what] = /^ {2}(\S+)\s*(.*)$/.exec(row)!;
      return [name, what];
    }),
  );
}

test('each kind lists every registered name with its summary', () => {
  const methods = listed(listing('methods'), 'methods');
  assert.deepEqual([...methods.keys()].sort(), Object.keys(METHODS).sort());
  assert.equal(methods.get('cyclical-batch-size'), METHODS['cyclical-batch-size'].summary);
  const optimizers = listed(listing('optimizers'), 'optimizers');
  assert.deepEqual([...optimizers.keys()].sort(), [...OPTIMIZERS.keys()].sort());
  assert.equal(optimizers.get('adamw'), OPTIMIZERS.get('adamw')!.description);
  const schedules = listed(listing('schedules'), 'schedules');
  assert.deepEqual([...schedules.keys()].sort(), scheduleNames().sort());
  assert.match(schedules.get('cosine')!, /cosine/);
  assert.deepEqual([...listed(listing('models'), 'models').keys()], [...MODEL_NAMES]);
  const backends = listed(listing('backends'), 'backends');
  assert.deepEqual([...backends.keys()], [...BACKEND_NAMES]);
  assert.match(backends.get('anneal-cpu')!, /oneDNN/);
  // Where no GPU answers, anneal-cuda's line says why (the probe's reason).
  const gpu = probeCuda();
  if (!gpu.ok) {
    assert.ok(backends.get('anneal-cuda')!.includes(`(not available here: ${gpu.reason})`));
  }
  const all = listing('all');
  for (const kind of ['methods', 'schedules', 'optimizers', 'models', 'backends'])
    listed(all, kind);
});

test('anneal list prints the listing; an unknown kind is one line and exit 2', () => {
  const r = anneal(['list', 'models']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), listing('models'));
  assertUserError(anneal(['list', 'widgets']), "'widgets'", 'methods, schedules');
});

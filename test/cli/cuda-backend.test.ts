/**
 * `anneal train --backend anneal-cuda` end to end, as far as a machine without a GPU allows:
 * the CUDA device's backend on its host build (anneal-cuda-host, with the kernels `auto` pairs it
 * with, so the step's device path runs) trains the MNIST CNN to the same test accuracy as
 * anneal-cpu (issue 18's acceptance, on the host build); and asking for anneal-cuda where no
 * GPU answers is one line saying why and what to do.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { hostDeviceProblem } from '../../src/backend/index.js';
import { probeCuda } from '../../src/kernels/index.js';
import { anneal, assertUserError } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'anneal-cuda-backend-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const mnist = ['--data', 'mnist', '--model', 'cnn', '--limit', '1024', '--test-limit', '500'];

/** The test accuracy `anneal train` prints on `backend`. */
function accuracyOn(backend: string): number {
  const r = anneal([
    'train',
    ...mnist,
    '--epochs',
    '1',
    '--backend',
    backend,
    '--kernels',
    'auto',
    '--out',
    join(dir, backend),
  ]);
  assert.equal(r.code, 0, r.stderr);
  const said = r.stdout + r.stderr;
  assert.match(said, new RegExp(`tfjs backend ${backend}[ ,]`));
  // The device's own flat kernels, so the step's gradients and weights stay on the device.
  if (backend === 'anneal-cuda-host') assert.match(said, /kernels=host/);
  const accuracy = Number(/test accuracy: ([0-9.]+)/.exec(r.stdout)?.[1]);
  assert.ok(Number.isFinite(accuracy), r.stdout);
  return accuracy;
}

test(
  'anneal train --backend anneal-cuda-host: the MNIST CNN to anneal-cpu accuracy',
  { skip: hostDeviceProblem() ?? false },
  () => {
    const cuda = accuracyOn('anneal-cuda-host');
    const cpu = accuracyOn('anneal-cpu');
    // The run learns (10 classes: chance is 0.1), and both backends land on the same accuracy:
    // their kernels differ only in float rounding (cuda-host on the host AdamW, cpu on wasm's).
    assert.ok(cuda > 0.6, `accuracy ${cuda}`);
    assert.ok(Math.abs(cuda - cpu) <= 0.01, `anneal-cuda-host ${cuda}, anneal-cpu ${cpu}`);
  },
);

test(
  'anneal-cuda where no GPU answers: one line with the reason and the fix',
  { skip: probeCuda().ok ? 'a GPU answers here' : false },
  () => {
    const r = anneal(['train', ...mnist, '--backend', 'anneal-cuda', '--out', join(dir, 'x')]);
    assertUserError(r, "backend 'anneal-cuda' is unavailable", 'to fix:', '--backend anneal-cpu');
  },
);

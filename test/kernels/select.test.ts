import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import { KernelError, createFlatOps, probeCuda } from '../../src/kernels/index.js';
import type { KernelChoice } from '../../src/kernels/index.js';
import { hostKernelsSkip } from './helpers.js';

test('auto takes cuda when a device answers, else wasm, and says so once', () => {
  const log = mock.method(console, 'error', () => {});
  try {
    const first = createFlatOps('auto');
    const second = createFlatOps('auto');
    const expected = probeCuda().ok ? 'cuda' : 'wasm';
    assert.equal(first.name, expected);
    assert.equal(second.name, expected);
    assert.equal(log.mock.callCount(), 1, 'one line for the whole process');
    const line = String(log.mock.calls[0].arguments[0]);
    assert.match(line, new RegExp(`^anneal: kernels=${expected}`));
    if (expected === 'wasm') assert.match(line, /\(cuda: .+\)$/, 'names why cuda was skipped');
    first.dispose();
    second.dispose();
  } finally {
    log.mock.restore();
  }
});

test('explicit choices load that backend; ANNEAL_KERNELS is the default', () => {
  assert.equal(createFlatOps('js').name, 'js');
  assert.equal(createFlatOps('wasm').name, 'wasm');
  if (!hostKernelsSkip()) assert.equal(createFlatOps('host').name, 'host');
  const saved = process.env.ANNEAL_KERNELS;
  try {
    process.env.ANNEAL_KERNELS = 'js';
    assert.equal(createFlatOps().name, 'js');
    process.env.ANNEAL_KERNELS = 'gpu';
    assert.throws(
      () => createFlatOps(),
      (e: unknown) =>
        e instanceof KernelError &&
        e.code === 'ANNEAL_KERNEL_CHOICE' &&
        /ANNEAL_KERNELS="gpu"/.test(e.message),
    );
  } finally {
    if (saved === undefined) delete process.env.ANNEAL_KERNELS;
    else process.env.ANNEAL_KERNELS = saved;
  }
  assert.throws(
    () => createFlatOps('fast' as KernelChoice),
    (e: unknown) =>
      e instanceof KernelError &&
      e.code === 'ANNEAL_KERNEL_CHOICE' &&
      /auto, cuda, wasm, host, js/.test(e.message),
  );
});

test('an explicit cuda that cannot load throws one error with every reason and the solutions', (t) => {
  if (probeCuda().ok) return t.skip('a CUDA device answers here');
  assert.throws(
    () => createFlatOps('cuda'),
    (e: unknown) => {
      assert.ok(e instanceof KernelError);
      assert.equal(e.code, 'ANNEAL_KERNEL_UNAVAILABLE');
      assert.match(e.message, /^the cuda kernels could not be loaded:\n/);
      assert.match(e.message, /\n {2}cuda: .+/);
      assert.match(e.message, /\n {2}wasm: available/);
      assert.match(e.message, /\n {2}host: .+/);
      assert.match(e.message, /\n {2}js: available/);
      assert.match(
        e.message,
        /\nPossible solutions:\n- Build the CUDA addon: `npm run build:addon`/,
      );
      return true;
    },
  );
});

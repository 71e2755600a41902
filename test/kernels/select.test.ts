import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import {
  DEVICE_BACKENDS,
  KernelError,
  createFlatOps,
  probeCuda,
  tensorResidence,
} from '../../src/kernels/index.js';
import { autoOrder } from '../../src/kernels/select.js';
import type { KernelChoice } from '../../src/kernels/index.js';
import { hostKernelsSkip } from './helpers.js';

test('auto for host tensors (the default) takes wasm, never cuda, and says so once', () => {
  const log = mock.method(console, 'error', () => {});
  try {
    const first = createFlatOps('auto');
    const second = createFlatOps('auto', { tensors: 'host' });
    // Whether or not a GPU answers here: CUDA kernels on host tensors cost 8N bytes of PCIe a step.
    assert.equal(first.name, 'wasm');
    assert.equal(second.name, 'wasm');
    assert.equal(log.mock.callCount(), 1, 'one line for the whole process');
    const line = String(log.mock.calls[0].arguments[0]);
    assert.match(line, /^anneal: kernels=wasm/);
    assert.match(line, /\(cuda: not for host-resident tensors .+\)$/, 'names why not cuda');
    first.dispose();
    second.dispose();
  } finally {
    log.mock.restore();
  }
});

test("auto's order: host tensors never try cuda; device tensors try it first", () => {
  assert.deepEqual(autoOrder('host'), ['wasm', 'host', 'js']);
  assert.deepEqual(autoOrder('cuda'), ['cuda', 'wasm', 'host', 'js']);
  const log = mock.method(console, 'error', () => {});
  try {
    const ops = createFlatOps('auto', { tensors: 'cuda' });
    assert.equal(ops.name, probeCuda().ok ? 'cuda' : 'wasm');
    ops.dispose();
  } finally {
    log.mock.restore();
  }
});

test('tensorResidence: every tfjs backend today is host; anneal-cuda is the device hook', () => {
  for (const backend of [
    'anneal-cpu',
    'wasm',
    'cpu',
    'tensorflow',
    'webgl',
    'constructor',
    '',
    undefined,
    null,
  ])
    assert.equal(tensorResidence(backend), 'host', String(backend));
  assert.deepEqual(DEVICE_BACKENDS, { 'anneal-cuda': 'cuda', 'anneal-cuda-host': 'cuda-host' });
  assert.equal(tensorResidence('anneal-cuda'), 'cuda');
  // The CUDA device's host build pairs with the same addon's host kernels.
  assert.equal(tensorResidence('anneal-cuda-host'), 'cuda-host');
  assert.deepEqual(autoOrder('cuda-host'), ['host', 'wasm', 'js']);
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

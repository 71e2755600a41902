/**
 * The addon's loading contract: it `require`s on machines without a GPU or driver (the CUDA
 * runtime is linked statically), probe() turns any CUDA error into a reason, loadCudaOps() throws
 * that reason, and the binding rejects bad arguments with coded JS errors instead of crashing.
 * The binding checks run on the CPU build (the same binding source); the GPU part runs only
 * where a device answers.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadCudaOps, loadHostOps, probeCuda } from '../../src/kernels/cuda.js';
import { KernelError } from '../../src/kernels/errors.js';
import { createJsOps } from '../../src/kernels/js.js';
import { cudaSkip } from './helpers.js';

/** build/Release/<file> from test/kernels (tsx) or dist/test/kernels (compiled). */
function addonFile(file: string): string | undefined {
  const here = dirname(fileURLToPath(import.meta.url));
  return [join(here, '../../build/Release', file), join(here, '../../../build/Release', file)].find(
    existsSync,
  );
}

const cudaAddon = addonFile('anneal_cuda.node');
const cpuAddon = addonFile('anneal_cpu.node');
const probe = probeCuda();

test(
  'the CUDA addon loads without a GPU and probe() explains a missing device',
  {
    skip: cudaSkip(
      cudaAddon ? false : 'anneal_cuda.node is not built here (no nvcc when npm install ran)',
    ),
  },
  () => {
    const addon = createRequire(import.meta.url)(cudaAddon!) as {
      backend: string;
      probe(): { status: number; errorName: string; message: string };
    };
    assert.equal(addon.backend, 'cuda');
    const raw = addon.probe();
    assert.equal(probe.ok, raw.status === 0);
    if (probe.ok) return; // a device answered: nothing to explain
    // Any non-zero CUDA error means no GPU (35: driver missing or too old, 100: no device, ...).
    assert.ok(raw.status > 0);
    assert.match(probe.reason!, new RegExp(`^CUDA error ${raw.status} \\(${raw.errorName}\\): `));
    assert.throws(
      () => loadCudaOps(),
      (e: unknown) =>
        e instanceof KernelError &&
        e.code === 'ANNEAL_KERNEL_UNAVAILABLE' &&
        e.message.includes(`CUDA error ${raw.status}`),
    );
  },
);

test(
  'loadCudaOps names the missing addon when it is not built',
  {
    skip: cudaAddon ? 'anneal_cuda.node is built here' : false,
  },
  () => {
    assert.equal(probe.ok, false);
    assert.throws(
      () => loadCudaOps(),
      (e: unknown) =>
        e instanceof KernelError &&
        e.code === 'ANNEAL_KERNEL_UNAVAILABLE' &&
        /anneal_cuda\.node/.test(e.message),
    );
  },
);

test(
  'on a GPU: the cuda backend round-trips data and runs a kernel',
  {
    skip: cudaSkip(probe.ok ? false : `no usable GPU here (${probe.reason})`),
  },
  () => {
    const ops = loadCudaOps();
    assert.equal(ops.name, 'cuda');
    const host = Float32Array.from({ length: 1001 }, (_, i) => i - 500);
    const x = ops.fromArray(host);
    ops.scale(x, 2);
    assert.deepEqual(
      ops.download(x),
      host.map((v) => 2 * v),
    );
    // sum of (2(i - 500))^2 for i in 0..1000 = 4 * 2 * (1^2 + ... + 500^2) = 8 * 500*501*1001/6
    assert.equal(ops.sumSquares(x), (8 * 500 * 501 * 1001) / 6);
    ops.dispose();
    assert.equal(x.alive, false);
  },
);

interface RawVector {
  length: number;
  alive: boolean;
  free(): void;
}
interface RawAddon {
  DeviceVector: new (length: number) => RawVector;
  axpy(y: unknown, alpha: unknown, x: unknown): void;
  upload(v: unknown, data: unknown, offset?: unknown): void;
  download(v: unknown, out: unknown): void;
  adam(...args: unknown[]): void;
  magnitudeMask(...args: unknown[]): number;
}

/** Calls `fn` and returns the error it throws, failing when it does not. */
function thrown(fn: () => void): Error & { code?: string } {
  try {
    fn();
  } catch (e) {
    return e as Error & { code?: string };
  }
  assert.fail('expected an exception');
}

test(
  'the binding rejects bad arguments with coded errors that name them',
  {
    skip: cpuAddon ? false : 'anneal_cpu.node is not built here (no cmake or C++ compiler)',
  },
  () => {
    const addon = createRequire(import.meta.url)(cpuAddon!) as RawAddon;
    const a = new addon.DeviceVector(8);
    const b = new addon.DeviceVector(8);
    const short = new addon.DeviceVector(3);

    let e = thrown(() => new addon.DeviceVector(-1));
    assert.equal(e.name, 'RangeError');
    assert.equal(e.code, 'ANNEAL_KERNEL_ARGUMENT');

    e = thrown(() => addon.axpy(a, 1, short));
    assert.equal(e.name, 'TypeError');
    assert.equal(e.code, 'ANNEAL_KERNEL_LENGTH');
    assert.match(e.message, /^x: length 3, expected 8/);

    e = thrown(() => addon.axpy(a, 'one', b));
    assert.equal(e.name, 'TypeError');
    assert.match(e.message, /^alpha: expected a number/);

    e = thrown(() => addon.axpy({ length: 8 }, 1, b));
    assert.equal(e.code, 'ANNEAL_KERNEL_BACKEND');
    assert.match(e.message, /^y: /);

    e = thrown(() => addon.upload(a, new Float64Array(8)));
    assert.equal(e.name, 'TypeError');
    assert.match(e.message, /^data: expected a Float32Array/);

    e = thrown(() => addon.upload(a, new Float32Array(4), 5));
    assert.equal(e.code, 'ANNEAL_KERNEL_LENGTH');

    e = thrown(() => addon.download(a, new Float32Array(7)));
    assert.equal(e.code, 'ANNEAL_KERNEL_LENGTH');

    e = thrown(() => addon.adam(a, b, a, b, null, null, null, { lr: 1 }));
    assert.equal(e.name, 'TypeError');
    assert.match(e.message, /^hyper\.beta1: expected a number/);

    e = thrown(() => addon.magnitudeMask(a, b, new Float64Array([4, 5]), 1));
    assert.equal(e.code, 'ANNEAL_KERNEL_ARGUMENT');
    assert.match(e.message, /^segments\[0\]/);

    // Freed vectors and double frees are errors, never crashes.
    b.free();
    assert.equal(b.alive, false);
    e = thrown(() => b.free());
    assert.equal(e.code, 'ANNEAL_KERNEL_FREED');
    e = thrown(() => addon.axpy(a, 1, b));
    assert.equal(e.code, 'ANNEAL_KERNEL_FREED');
    assert.match(e.message, /^x: the vector was freed/);
    a.free();
    short.free();
  },
);

test(
  'the typed layer turns misuse into KernelErrors',
  {
    skip: cpuAddon ? false : 'anneal_cpu.node is not built here (no cmake or C++ compiler)',
  },
  () => {
    const ops = loadHostOps();
    const js = createJsOps();
    const x = ops.alloc(4);
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        assert.ok(e instanceof KernelError, String(e));
        return e.code;
      }
      assert.fail('expected a KernelError');
    };
    assert.equal(
      code(() => ops.scale(js.alloc(4), 2)),
      'ANNEAL_KERNEL_BACKEND',
    );
    assert.equal(
      code(() => ops.axpy(x, 1, ops.alloc(5))),
      'ANNEAL_KERNEL_LENGTH',
    );
    assert.equal(
      code(() => ops.magnitudeMask(x, ops.alloc(4), [{ offset: 0, length: 4 }], 5)),
      'ANNEAL_KERNEL_ARGUMENT',
    );
    ops.free(x);
    assert.equal(
      code(() => ops.free(x)),
      'ANNEAL_KERNEL_FREED',
    );
    assert.equal(
      code(() => ops.scale(x, 2)),
      'ANNEAL_KERNEL_FREED',
    );
    const kept = ops.alloc(4);
    ops.dispose();
    assert.equal(kept.alive, false);
    assert.equal(
      code(() => ops.alloc(1)),
      'ANNEAL_KERNEL_FREED',
    );
  },
);

test(
  "the binding reports its vectors' memory to V8 (external memory) and takes it back on free",
  {
    skip: cpuAddon ? false : 'anneal_cpu.node is not built here (no cmake or C++ compiler)',
  },
  () => {
    const addon = createRequire(import.meta.url)(cpuAddon!) as RawAddon;
    const bytes = 64 * 1024 * 1024;
    const raw = addon as RawAddon & { externalMemory(): number };
    const before = raw.externalMemory();
    const v = new addon.DeviceVector(bytes / 4);
    const held = raw.externalMemory() - before;
    v.free();
    const after = raw.externalMemory() - before;
    // Other external allocations may come and go meanwhile, but not 64 MiB of them.
    assert.ok(Math.abs(held - bytes) < 8 * 1024 * 1024, `held ${held}`);
    assert.ok(Math.abs(after) < 8 * 1024 * 1024, `after free ${after}`);
  },
);

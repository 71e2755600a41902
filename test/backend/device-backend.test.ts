/**
 * The CUDA device's tfjs backend (src/backend/device-backend.ts) on its host build,
 * anneal-cuda-host (anneal_cpu.node, always built): both devices register the same kernels;
 * dtypes the device does not store (string, complex64) and fallback kernels work through the
 * host side, counted; a Cast that keeps values shares the data, converted for float kernels;
 * DeviceVector views share memory and die with their vector; a ParamVector moves gradients and
 * weights by batched device copies (in place where nothing else holds a weight's data); a
 * Trainer's step reads nothing back to the host, and the NaN guard's skip happens on the device. The values themselves are checked kernel by
 * kernel in parity*.test.ts and by tfjs-core's specs (tfjs-specs.test.ts); that a long
 * run leaves nothing behind, in resources.test.ts.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { mock, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import {
  NATIVE_KERNELS,
  fallbackTally,
  hostDeviceProblem,
  registerAnnealCpu,
  registerAnnealCuda,
  registeredKernels,
  resetKernelTally,
  type AnnealDeviceBackend,
} from '../../src/backend/index.js';
import type { DeviceBuffer } from '../../src/backend/device.js';
import { syntheticDataset } from '../../src/data/index.js';
import { ParamVector } from '../../src/engine/param-vector.js';
import {
  GATE_LENGTH,
  createFlatOps,
  tensorResidence,
  type FlatOps,
} from '../../src/kernels/index.js';
import { gradClip, nanGuard } from '../../src/methods/index.js';
import { createModel } from '../../src/models/index.js';
import { Event } from '../../src/train/events.js';
import type { Callback, Method } from '../../src/train/method.js';
import { Trainer } from '../../src/train/trainer.js';

const NAME = registerAnnealCuda('host');
const hostProblem = hostDeviceProblem();

/** What the backend holds: tensors, data ids, the engine's bytes and the device's. */
function held() {
  const memory = tf.memory() as tf.MemoryInfo & { numBytesInDevice: number };
  return {
    tensors: memory.numTensors,
    dataIds: tf.engine().backend.numDataIds(),
    bytes: memory.numBytes,
    deviceBytes: memory.numBytesInDevice,
  };
}

test(
  'both devices register the same kernels: every cpu kernel, the native ones over them',
  {
    skip: hostProblem ?? false,
  },
  () => {
    registerAnnealCpu();
    const cuda = registeredKernels(NAME);
    assert.deepEqual(cuda, registeredKernels('anneal-cpu'));
    const cpu = registeredKernels('cpu');
    const native = NATIVE_KERNELS.map((k) => k.kernelName);
    assert.deepEqual(cuda, [...new Set([...cpu, ...native])].sort());
    // Every native kernel is the same config on both (the fallback is the backend's own).
    for (const name of native) {
      assert.equal(
        tf.getKernel(name, NAME)!.kernelFunc,
        tf.getKernel(name, 'anneal-cpu')!.kernelFunc,
        name,
      );
    }
  },
);

test('string and complex64 tensors live on the host side; their kernels fall back, counted', async () => {
  await tf.setBackend(NAME);
  const before = held();
  resetKernelTally();
  tf.tidy(() => {
    assert.deepEqual(tf.tensor(['a', 'bc']).dataSync(), ['a', 'bc']);
    const c = tf.complex([3, -1], [4, 2]);
    const parts = [tf.real(c), tf.imag(c), tf.abs(c)];
    const [re, im, abs] = parts.map((t) => [...t.dataSync()]);
    assert.deepEqual(re, [3, -1]);
    assert.deepEqual(im, [4, 2]);
    // |3 + 4i| = 5, |-1 + 2i| = sqrt(5).
    assert.ok(Math.abs(abs[0] - 5) < 1e-6 && Math.abs(abs[1] - Math.sqrt(5)) < 1e-6, `${abs}`);
    // A real part read out stays the complex's: once it is gone the complex still reads right.
    tf.dispose(parts);
    assert.deepEqual([...tf.real(c).dataSync()], [3, -1]);
  });
  const fellBack = new Map(fallbackTally());
  for (const name of ['Complex', 'Real', 'Imag', 'ComplexAbs']) {
    assert.ok(fellBack.has(name), `${name} counted as a fallback`);
  }
  assert.deepEqual(held(), before);
});

test('an int32 op falls back and gives tfjs-backend-cpu values; its output lives on the device', async () => {
  await tf.setBackend(NAME);
  resetKernelTally();
  const a = tf.tensor([7, -7, 9, 4], [4], 'int32');
  const b = tf.tensor([3, 3, -4, 2], [4], 'int32');
  const r = tf.mod(a, b);
  // floor mod, as tfjs: 7 mod 3 = 1, -7 mod 3 = 2, 9 mod -4 = -3, 4 mod 2 = 0.
  assert.deepEqual([...r.dataSync()], [1, 2, -3, 0]);
  assert.equal(r.dtype, 'int32');
  assert.ok(new Map(fallbackTally()).has('Mod'));
  const backend = tf.engine().backend as AnnealDeviceBackend;
  assert.equal((backend.typed(r) as DeviceBuffer).dtype, 'int32');
  tf.dispose([a, b, r]);
});

test('a cast that keeps values shares the data, which a float kernel reads converted', async () => {
  await tf.setBackend(NAME);
  const before = held();
  const ints = tf.tensor([1, 2, 3], [3], 'int32');
  const floats = tf.cast(ints, 'float32');
  assert.equal(held().dataIds, before.dataIds + 1, 'the cast shares the int32 data');
  assert.equal(held().deviceBytes, before.deviceBytes + 12);
  const half = tf.scalar(0.5);
  const sum = tf.add(floats, half);
  assert.deepEqual([...sum.dataSync()], [1.5, 2.5, 3.5]);
  assert.equal(sum.dtype, 'float32');
  tf.dispose([ints, floats, half, sum]);
  const after = held();
  assert.deepEqual(
    [after.tensors, after.dataIds, after.deviceBytes],
    [before.tensors, before.dataIds, before.deviceBytes],
  );
});

const root = fileURLToPath(new URL('../..', import.meta.url));
const addon = createRequire(import.meta.url)(join(root, 'build', 'Release', 'anneal_cpu.node')) as {
  DeviceVector: new (n: number, dtype?: string) => DeviceBuffer;
  upload(v: DeviceBuffer, data: Float32Array | Int32Array, offset: number): void;
  download(v: DeviceBuffer, out: Float32Array | Int32Array): void;
};

test("the backend's tensors are not V8 external memory: disposeData frees them, no GC could", async () => {
  await tf.setBackend(NAME);
  const { externalMemory } = (tf.backend() as unknown as { addon: { externalMemory(): number } })
    .addon;
  const before = externalMemory();
  // Fill and Add make their outputs on the device (tf.zeros would make a host array first,
  // which V8 does count).
  const x = tf.fill([256, 1024], 0.5);
  const y = tf.add(x, x);
  // Told to V8, each 64 MB of live activations started a full GC (about 20 a ResNet step at
  // batch 512 on an H200) that could reclaim nothing: the backend's map holds every tensor.
  // (A few bytes may be tfjs's own host arrays: a fill value, say.)
  const told = () => externalMemory() - before;
  assert.ok(told() < 1024, `two 1 MiB tensors on the device: ${told()} bytes told to V8`);
  tf.dispose([x, y]);
  assert.ok(told() < 1024, `${told()} bytes told to V8 after their disposal`);
});

test("a kernel's output is not zeroed first; here it starts as NaN, so every test shows an unwritten value", async () => {
  await tf.setBackend(NAME);
  const backend = tf.backend() as unknown as AnnealDeviceBackend;
  // On the GPU a zeroed output is one memset launch more per tensor (531 in a ResNet step at
  // batch 8): every kernel writes all of its output instead, which the host build's 0xFF fill
  // (NaN) makes every value test here check.
  const fresh = backend.alloc('float32', 3);
  const info = backend.tensorInfo([3], 'float32', fresh);
  assert.deepEqual([...(backend.readSync(info.dataId) as Float32Array)], [NaN, NaN, NaN]);
  backend.disposeData(info.dataId);
  const y = tf.add(tf.fill([3], 1), tf.fill([3], 2));
  assert.deepEqual([...(await y.data())], [3, 3, 3]);
  y.dispose();
});

test('DeviceVector views share memory as float32 or int32 words and die with their vector', () => {
  const v = new addon.DeviceVector(6, 'int32');
  addon.upload(v, new Int32Array([10, 11, 12, 13, 14, 15]), 0);
  const w = v.view(2, 3);
  assert.equal(w.dtype, 'int32');
  const words = new Int32Array(3);
  addon.download(w, words);
  assert.deepEqual([...words], [12, 13, 14]);
  // A view of a view, as floats: the bits of 13 and 14.
  const f = w.view(1, 2, 'float32');
  const bits = new Float32Array(2);
  addon.download(f, bits);
  assert.deepEqual([...new Int32Array(bits.buffer)], [13, 14]);
  // Writing through a view writes the vector.
  addon.upload(f, new Float32Array(new Int32Array([-1, -2]).buffer), 0);
  const all = new Int32Array(6);
  addon.download(v, all);
  assert.deepEqual([...all], [10, 11, 12, -1, -2, 15]);
  assert.throws(() => w.free(), { code: 'ANNEAL_KERNEL_ARGUMENT' });
  assert.throws(() => v.view(4, 3), { code: 'ANNEAL_KERNEL_LENGTH' });
  assert.throws(() => new addon.DeviceVector(4, 'bool').view(0, 1), {
    code: 'ANNEAL_KERNEL_DTYPE',
  });
  v.free();
  assert.equal(w.alive, false);
  assert.equal(f.alive, false);
  assert.throws(() => addon.download(f, bits), { code: 'ANNEAL_KERNEL_FREED' });
});

test('a ParamVector on the device backend moves gradients and weights by batched device copies', async () => {
  // The same steps on tfjs-backend-cpu with the js kernels give the reference: w - 0.5 * g,
  // a weight without a gradient unchanged, read back through the model's variables.
  const steps = (ops: FlatOps) => {
    // tidy disposes the initial values (variables are not tidied).
    const vars = tf.tidy(() => [
      tf.variable(tf.tensor([1, 2, 3, 4, 5, 6], [2, 3]), true, 'w'),
      tf.variable(tf.tensor([-1, 0.5]), true, 'b'),
      tf.variable(tf.tensor([7]), true, 'frozen'),
    ]);
    const pv = ParamVector.create(vars, ops);
    const grads = [tf.tensor([0.5, -1, 2, 0, 1, 4], [2, 3]), tf.tensor([2, -2]), null];
    pv.setGrads(grads);
    ops.axpy(pv.params, -0.5, pv.grads);
    // A tensor sharing w's data (a clone) while the weights are written back: it must keep
    // the old values, so w gets new data; b and frozen, held by nothing else, are written in
    // place (same data ids).
    const clone = tf.clone(vars[0]);
    const ids = vars.map((v) => v.dataId);
    pv.writeBack();
    const inPlace = vars.map((v, i) => v.dataId === ids[i]);
    const cloneValues = [...clone.dataSync()];
    const values = vars.map((v) => [...v.dataSync()]);
    // The model's weights read into a fresh vector again: the same values.
    pv.readFromModel();
    const again = [...ops.download(pv.params)];
    pv.dispose();
    tf.dispose([...vars, clone, ...grads.filter((g) => g !== null)]);
    return { values, again, cloneValues, inPlace };
  };
  await tf.setBackend('cpu');
  const reference = steps(createFlatOps('js'));
  await tf.setBackend(NAME);
  const backend = tf.engine().backend as AnnealDeviceBackend;
  const ops = createFlatOps('auto', { tensors: tensorResidence(NAME) });
  assert.equal(ops.name, 'host', "auto pairs anneal-cuda-host with the same addon's kernels");
  const addon = (backend as unknown as { addon: { copyBatch(): void; copy(): void } }).addon;
  const reads = mock.method(backend, 'readSync');
  const batches = mock.method(addon, 'copyBatch');
  const copies = mock.method(addon, 'copy');
  const before = held();
  const { values, again, cloneValues, inPlace } = steps(ops);
  // The only reads to the host are the test's own: the clone, three variables and the
  // downloaded vector (which is the kernels', not the backend's).
  assert.equal(reads.mock.callCount(), 4, 'no tensor crossed to the host but the ones read');
  // readFromModel at creation, setGrads, writeBack, readFromModel: one batched copy each.
  assert.equal(batches.mock.callCount(), 4, 'one native copy call per transfer');
  assert.equal(copies.mock.callCount(), 0);
  for (const m of [reads, batches, copies]) m.mock.restore();
  assert.deepEqual(values, reference.values);
  assert.deepEqual(values, [[0.75, 2.5, 2, 4, 4.5, 4], [-2, 1.5], [7]]);
  assert.deepEqual(cloneValues, [1, 2, 3, 4, 5, 6], "the clone kept w's old values");
  assert.deepEqual(inPlace, [false, true, true]);
  assert.deepEqual(again, values.flat());
  assert.deepEqual(held(), before);
});

test("a Trainer's steps read nothing back: its loss and accuracy wait for a reader", async () => {
  await tf.setBackend(NAME);
  /** A CNN's Trainer; 20 steps an epoch, so the 10 steps below stay inside the first. */
  const cnn = (callbacks: Callback[] = []) => {
    const model = createModel('cnn', { inputShape: [12, 12, 1], numClasses: 4, seed: 0 });
    const trainer = new Trainer({
      model,
      trainData: syntheticDataset({ n: 640, seed: 1, shape: [12, 12, 1], numClasses: 4 }),
      maxDuration: '10ba',
      batchSize: 32,
      seed: 0,
      optimizer: { name: 'adamw', lr: 1e-3 },
      callbacks,
    });
    return { model, trainer };
  };
  const run = async (
    { model, trainer }: ReturnType<typeof cnn>,
    f: (t: Trainer) => Promise<unknown>,
  ) => {
    try {
      await f(trainer);
    } finally {
      trainer.dispose();
      model.dispose();
    }
  };

  let metrics: Record<string, number> = {};
  await run(cnn(), async (quiet) => {
    await quiet.fit({ duration: '2ba' });
    const reads = mock.method(tf.engine().backend, 'readSync');
    await quiet.fit();
    // Before, a step read 4 times: its loss, its hits, and twice inside kernels (a cast's values
    // widened through the host).
    assert.equal(reads.mock.callCount(), 1, 'eight steps, one read when fit() ends');
    metrics = { ...quiet.state.metrics };
    assert.equal(reads.mock.callCount(), 1, 'the metrics were read then');
    reads.mock.restore();
  });

  // The same epoch mean as reading each step's loss when it ends.
  const losses: number[] = [];
  await run(cnn([{ onBatchEnd: (s) => void losses.push(s.lossValue) }]), (t) => t.fit());
  let sum = 0;
  for (const loss of losses) sum += loss * 32;
  assert.equal(losses.length, 10);
  assert.equal(metrics['train/loss'], sum / (32 * 10));
});

test('the NaN guard and clipping on the device: a NaN step is skipped by the kernels, its verdict read every 5 steps', async () => {
  await tf.setBackend(NAME);
  const trainWith = (methods: Method[]) => {
    const model = createModel('mlp', { inputShape: [6, 6, 1], numClasses: 3, seed: 0 });
    const trainer = new Trainer({
      model,
      trainData: syntheticDataset({ n: 320, seed: 2, shape: [6, 6, 1], numClasses: 3 }),
      maxDuration: '10ba',
      batchSize: 32,
      optimizer: { name: 'adamw', lr: 1e-2 },
      methods,
    });
    return { model, trainer };
  };
  /** Every gradient NaN at step 3, without a read: scaled by NaN where it lies. */
  const poison: Method = {
    name: 'poison',
    match: (event, state) => event === Event.AFTER_BACKWARD && state.timestamp.step === 3,
    apply: (_e, state) => state.ops.scale(state.pv.grads, NaN),
  };
  /** The reference skips step 3 on the host. */
  const skip: Method = {
    name: 'skip',
    match: (event, state) => event === Event.AFTER_BACKWARD && state.timestamp.step === 3,
    apply: (_e, state) => void (state.skipStep = true),
  };
  const addon = (tf.engine().backend as unknown as { addon: { download(v: DeviceBuffer): void } })
    .addon;
  // With gradient clipping too: its norm stays on the device until its metric is read.
  const guarded = trainWith([
    nanGuard({ policy: 'skip', readEvery: 5 }),
    gradClip({ maxNorm: 0.5 }),
    poison,
  ]);
  const reads = mock.method(tf.engine().backend, 'readSync');
  const downloads = mock.method(addon, 'download');
  const result = await guarded.trainer.fit();
  const gateReads = downloads.mock.calls.filter((c) => c.arguments[0].length === GATE_LENGTH);
  // The gate is read when the optimizer takes it, at steps 4 and 9 (every 5; the epoch and
  // fit() end right after step 9, so no read is due then), and once more by the optimizer to
  // settle the skip found at step 4; the losses once, when the epoch ends.
  assert.equal(gateReads.length, 4, 'the gate read 4 times in 10 steps');
  assert.equal(reads.mock.callCount(), 1, 'one tensor read: the metrics when the epoch ends');
  const normReads = downloads.mock.calls.filter((c) => c.arguments[0].length === 1);
  assert.equal(normReads.length, 1, "the clip's norm read once, for fit()'s metrics");
  assert.equal(downloads.mock.callCount(), gateReads.length + 2, 'nothing else downloaded');
  downloads.mock.restore();
  reads.mock.restore();
  assert.equal(result.metrics['nan-guard/skipped'], 1);
  assert.equal(guarded.trainer.state.optimizer.stepCount, 9);
  const reference = trainWith([gradClip({ maxNorm: 0.5 }), skip]);
  await reference.trainer.fit();
  const [got, want] = [guarded, reference].map(({ trainer }) => [
    ...trainer.ops.download(trainer.state.pv.params),
  ]);
  got.forEach((g, i) =>
    assert.ok(Math.abs(g - want[i]) <= 1e-6 * Math.abs(want[i]) + 1e-7, `weight ${i}`),
  );
  for (const { trainer, model } of [guarded, reference]) {
    trainer.dispose();
    model.dispose();
  }
});

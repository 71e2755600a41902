// Backend selection: forced backends start or fail in one line with the fix; auto reports what it
// took; ANNEAL_BACKEND is honoured.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import { hostDeviceProblem } from '../../src/backend/index.js';
import { initEngine } from '../../src/engine/index.js';
import { probeCuda } from '../../src/kernels/index.js';
import { AnnealError } from '../../src/errors.js';

function installed(pkg: string): boolean {
  try {
    createRequire(import.meta.url).resolve(pkg);
    return true;
  } catch {
    return false;
  }
}
const hasTfjsNode = installed('@tensorflow/tfjs-node') || installed('@tensorflow/tfjs-node-gpu');

function withEnv<T>(value: string | undefined, f: () => Promise<T>): Promise<T> {
  const saved = process.env.ANNEAL_BACKEND;
  if (value === undefined) delete process.env.ANNEAL_BACKEND;
  else process.env.ANNEAL_BACKEND = value;
  return f().finally(() => {
    if (saved === undefined) delete process.env.ANNEAL_BACKEND;
    else process.env.ANNEAL_BACKEND = saved;
  });
}

// First in the file: auto only probes when no engine has been started in this process.
test('auto takes the first backend that starts (tensorflow, anneal-cuda, anneal-cpu, wasm) and reports every attempt', async () => {
  const engine = await withEnv(undefined, () => initEngine({ backend: 'auto' }));
  const hostProblem = hostDeviceProblem();
  const gpu = probeCuda().ok;
  const expected = hasTfjsNode
    ? 'tensorflow'
    : gpu
      ? 'anneal-cuda'
      : hostProblem
        ? 'wasm'
        : 'anneal-cpu';
  assert.equal(engine.backend, expected);
  assert.equal(tf.getBackend(), engine.backend);
  assert.deepEqual(
    engine.attempts.map((a) => a.backend),
    ['tensorflow', 'anneal-cuda', 'anneal-cpu', 'wasm'].slice(0, engine.attempts.length),
  );
  assert.equal(engine.attempts[0].ok, hasTfjsNode);
  if (!hasTfjsNode && !gpu) {
    // Where no GPU answers, auto passes over anneal-cuda with the probe's reason (no driver,
    // or the addon not built), and over anneal-cpu where it is not built.
    assert.equal(engine.attempts[1].ok, false);
    assert.ok(engine.attempts[1].reason, 'anneal-cuda: a reason');
    if (hostProblem) assert.match(engine.attempts[2].reason!, /anneal_host\.node/);
  }
  assert.equal(engine.attempts.at(-1)?.ok, true);
  // A second call keeps the running backend rather than probing again.
  assert.deepEqual(await withEnv(undefined, () => initEngine()), engine);
});

for (const backend of ['cpu', 'wasm'] as const) {
  test(`forced '${backend}' starts`, async () => {
    const engine = await initEngine({ backend });
    assert.equal(engine.backend, backend);
    assert.equal(tf.getBackend(), backend);
    assert.equal(tf.sum(tf.tensor1d([1, 2, 3])).dataSync()[0], 6);
  });
}

test(
  "forced 'tensorflow' without tfjs-node throws ANNEAL_BACKEND_UNAVAILABLE in one line",
  { skip: hasTfjsNode },
  async () => {
    await initEngine({ backend: 'cpu' });
    await assert.rejects(initEngine({ backend: 'tensorflow' }), (e: unknown) => {
      assert.ok(e instanceof AnnealError);
      assert.equal(e.code, 'ANNEAL_BACKEND_UNAVAILABLE');
      assert.ok(!e.message.includes('\n'), `not one line: ${e.message}`);
      assert.match(e.message, /'tensorflow'/);
      assert.match(e.message, /@tensorflow\/tfjs-node is not installed/);
      assert.match(e.message, /install @tensorflow\/tfjs-node-gpu .*--backend wasm/);
      return true;
    });
    assert.equal(tf.getBackend(), 'cpu', 'the backend that was active before stays active');
  },
);

test('ANNEAL_BACKEND picks the backend when the option is absent or auto; an explicit option wins', async () => {
  assert.equal((await withEnv('cpu', () => initEngine())).backend, 'cpu');
  assert.equal((await withEnv('wasm', () => initEngine({ backend: 'auto' }))).backend, 'wasm');
  assert.equal((await withEnv('wasm', () => initEngine({ backend: 'cpu' }))).backend, 'cpu');
});

test('an unknown backend name is a UsageError naming the value and the choices', async () => {
  await assert.rejects(
    withEnv('gpu', () => initEngine()),
    (e: unknown) => {
      assert.ok(e instanceof AnnealError);
      assert.equal(e.code, 'ANNEAL_BAD_BACKEND');
      assert.match(e.message, /ANNEAL_BACKEND is 'gpu'.*auto, tensorflow, wasm, cpu/);
      return true;
    },
  );
});

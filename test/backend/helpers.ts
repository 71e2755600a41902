/**
 * What the backend parity tests share: whether the host device loads (ANNEAL_REQUIRE_HOST=1
 * turns a missing one into a failure), random inputs, and `same`, which runs a function on
 * tfjs-backend-cpu and on each of anneal's backends (anneal-cpu, and anneal-cuda-host: the CUDA
 * device's backend on its host build, always built) and compares every output.
 */
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import {
  fallbackTally,
  hostDeviceProblem,
  registerAnnealCpu,
  registerAnnealCuda,
  resetKernelTally,
} from '../../src/backend/index.js';

export const problem = hostDeviceProblem();
if (problem && process.env.ANNEAL_REQUIRE_HOST === '1') {
  throw new Error(`ANNEAL_REQUIRE_HOST=1 but the host device cannot load: ${problem}`);
}
/** A test's `skip` option: the reason the host device cannot load, or false. */
export const skip = problem ?? false;

/** anneal's backends that run here: anneal-cpu where its device loads, and anneal-cuda-host. */
export const NATIVE: readonly string[] = [
  ...(problem ? [] : ['anneal-cpu']),
  registerAnnealCuda('host'),
];
if (!problem) registerAnnealCpu();

export const rnd = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1, 'float32', seed);
export const r4 = (shape: number[], seed: number) => rnd(shape, seed) as tf.Tensor4D;

/** Every output of `f` on `backend`: its dtype and values. */
async function outputsOn(backend: string, f: () => tf.Tensor[]) {
  assert.ok(await tf.setBackend(backend));
  return tf.tidy(() => f().map((t) => ({ dtype: t.dtype, values: [...t.dataSync()] })));
}

/** Every value of every output of `f`, on `backend`. */
export async function valuesOn(backend: string, f: () => tf.Tensor[]): Promise<number[][]> {
  return (await outputsOn(backend, f)).map((o) => o.values);
}

/**
 * Runs `f` on both backends: same dtypes and sizes, values within 1e-5 relative (NaN where
 * NaN), and nothing fell back but Identity, Reshape and the kernels in `allowed`.
 */
export async function same(f: () => tf.Tensor[], allowed: string[] = []): Promise<void> {
  const cpu = await outputsOn('cpu', f);
  for (const backend of NATIVE) {
    resetKernelTally();
    const anneal = await outputsOn(backend, f);
    const fellBack = fallbackTally()
      .map(([name]) => name)
      .filter((name) => !['Identity', 'Reshape', ...allowed].includes(name));
    assert.deepEqual(fellBack, [], `kernels that fell back to tfjs-backend-cpu on ${backend}`);
    assert.deepEqual(
      anneal.map((o) => o.dtype),
      cpu.map((o) => o.dtype),
      `dtypes on ${backend}`,
    );
    closeValues(
      anneal.map((o) => o.values),
      cpu.map((o) => o.values),
      1e-5,
      backend,
    );
  }
}

/**
 * Every output's values within `tolerance` relative (to 1 + |expected|), NaN where NaN; a
 * mismatch is named by `what`, its output and its index.
 */
export function closeValues(
  actual: number[][],
  expected: number[][],
  tolerance: number,
  what: string,
): void {
  assert.equal(actual.length, expected.length, `${what}: outputs`);
  expected.forEach((want, i) => {
    assert.equal(actual[i].length, want.length, `${what} output ${i}: size`);
    want.forEach((w, j) => {
      const got = actual[i][j];
      const at = `${what} output ${i}[${j}]`;
      if (Number.isNaN(w)) return assert.ok(Number.isNaN(got), `${at}: ${got} vs NaN`);
      assert.ok(Math.abs(got - w) <= tolerance * (1 + Math.abs(w)), `${at}: ${got} vs ${w}`);
    });
  });
}

export const grads = (f: (...xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[]) =>
  tf.grads((...args: tf.Tensor[]) => tf.sum(tf.square(f(...args))))(xs);

/**
 * Helpers of the ParamVector and optimizer suites: the kernel backends to run on (js always;
 * wasm unless asm/build/anneal.wasm is missing; host unless anneal_cpu.node is missing, see
 * hostKernelsSkip), tfjs on its cpu backend, and flat-vector shorthands.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// tfjs-core's node bundle registers no gradients; tfjs-layers' bundle registers them.
import '@tensorflow/tfjs-layers';
import { ParamVector } from '../../src/engine/param-vector.js';
import { createFlatOps, type FlatOps, type KernelBackendName } from '../../src/kernels/index.js';
import { hostKernelsSkip } from '../kernels/helpers.js';

const WASM_BUILD = fileURLToPath(new URL('../../asm/build/anneal.wasm', import.meta.url));

export interface KernelBackend {
  name: KernelBackendName;
  /** Why the backend is skipped here, or false. */
  skip: string | false;
  create: () => FlatOps;
}

export const KERNEL_BACKENDS: readonly KernelBackend[] = [
  { name: 'js', skip: false, create: () => createFlatOps('js') },
  {
    name: 'wasm',
    skip: existsSync(WASM_BUILD) ? false : `${WASM_BUILD} is missing (npm run build:asm)`,
    create: () => createFlatOps('wasm'),
  },
  { name: 'host', skip: hostKernelsSkip(), create: () => createFlatOps('host') },
];

export async function useTfCpu(): Promise<void> {
  assert.ok(await tf.setBackend('cpu'), 'tfjs cpu backend did not start');
  (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false; // no banner
}

/** A ParamVector over fresh plain variables with the given names and values. */
export function vectorOf(
  ops: FlatOps,
  weights: Record<string, { shape: number[]; values: number[] }>,
): { pv: ParamVector; variables: tf.Variable[] } {
  const variables = Object.entries(weights).map(([name, { shape, values }]) =>
    tf.variable(tf.tensor(values, shape, 'float32'), true, uniqueName(name)),
  );
  return { pv: ParamVector.fromVariables(variables, ops), variables };
}

let counter = 0;
/** tfjs variable names are global: suffix a counter, keeping the last '/' part for kind inference. */
function uniqueName(name: string): string {
  counter++;
  const slash = name.lastIndexOf('/');
  return slash < 0 ? `${name}${counter}` : `t${counter}_${name}`;
}

export function params(pv: ParamVector): number[] {
  return [...pv.ops.download(pv.params)];
}

export function setGradient(pv: ParamVector, values: readonly number[]): void {
  pv.ops.upload(pv.grads, Float32Array.from(values));
}

/** Each actual within `rel` relative (or 1e-7 absolute) of the float64 expectation. */
export function assertClose(
  actual: readonly number[],
  expected: readonly number[],
  rel = 1e-6,
): void {
  assert.equal(actual.length, expected.length, 'length');
  actual.forEach((a, i) => {
    const e = expected[i];
    assert.ok(
      Math.abs(a - e) <= rel * Math.abs(e) + 1e-7,
      `element ${i}: ${a} is not within ${rel} of ${e} (all: [${actual}] vs [${expected}])`,
    );
  });
}

/**
 * The inside of the tfjs-core conformance bundle: test/backend/tfjs-specs.ts bundles this file
 * with esbuild (tfjs-core's specs are extensionless ESM that Node cannot load as they ship), so
 * tfjs-core, tfjs-backend-cpu, anneal-cpu and the specs share one copy of tfjs-core. Not run
 * directly.
 */
import '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// The specs call chained ops (x.add(y)) and take gradients; tfjs-core's own test setup
// registers both, as tfjs-backend-cpu's run_tests.ts does.
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { setTestEnvs } from '@tensorflow/tfjs-core/dist/jasmine_util.js';
import {
  BACKEND_NAME,
  nativeTally,
  registerAnnealCpu,
  registerAnnealCuda,
} from '../../src/backend/index.js';

/**
 * Registers `backend`'s test env as the only one and defines every tfjs-core spec on it (with
 * jasmine's globals already installed). anneal's backend is registered first; its device throws
 * a UsageError saying how to build it where it cannot load.
 */
export async function loadSpecs(backend: string): Promise<void> {
  if (backend === BACKEND_NAME) registerAnnealCpu();
  // The CUDA device's backend on its host build (anneal_cpu.node): how CI tests anneal-cuda.
  if (backend === 'anneal-cuda-host') registerAnnealCuda('host');
  setTestEnvs([{ name: backend, backendName: backend, isDataSync: true }]);
  // describeWithFlags reads the test envs as each spec file runs, so after setTestEnvs.
  await import('@tensorflow/tfjs-core/dist/tests.js');
}

/** Native kernel calls during the run (anneal-cpu's tally, from this bundle's copy of it). */
export function nativeCalls(): Record<string, number> {
  return Object.fromEntries(nativeTally().map(([name, count]) => [name, count.calls]));
}

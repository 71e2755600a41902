/**
 * The inside of the device check's spec bundle (dist/device/specs-entry.mjs, built by
 * bench/device-bundles.ts): test/backend/tfjs-specs-entry.ts, which loads tfjs-core's specs on a
 * backend, with `anneal-cuda` (the GPU) added to the backends it can register. Not run directly.
 */
import { registerAnnealCuda } from '../src/backend/index.js';
import { probeCuda } from '../src/kernels/index.js';
import { loadSpecs as loadOnBackend, nativeCalls } from '../test/backend/tfjs-specs-entry.js';

export { nativeCalls };

/**
 * Registers `anneal-cuda` when asked for it (a UsageError that says why where no GPU answers),
 * then defines every tfjs-core spec on `backend` (tfjs-specs-entry.ts registers the others).
 */
export async function loadSpecs(backend: string): Promise<void> {
  if (backend === 'anneal-cuda') {
    registerAnnealCuda('cuda', () => {
      const probe = probeCuda();
      return probe.ok ? null : (probe.reason ?? 'no GPU answers');
    });
  }
  await loadOnBackend(backend);
}

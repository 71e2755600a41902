/**
 * The cuda backend on a GPU (skipped where none answers): every op against the js oracle, and
 * against the host build of the same kernels, which must agree bit for bit wherever no float64
 * log/cos or summation order is involved (both builds compile without FMA contraction). The
 * lengths span many grid-stride rounds, several selection chunks of 16384 and odd tails; the
 * tie-heavy selection cases put the lowest-index tie cut inside a chunk in the middle.
 */
import { test } from 'node:test';
import { loadCudaOps, loadHostOps, probeCuda } from '../../src/kernels/cuda.js';
import { createJsOps } from '../../src/kernels/js.js';
import { assertOutcome, opCases, runCase } from './cuda-cases.js';

const probe = probeCuda();
const skip = probe.ok ? false : `no usable GPU here (${probe.reason})`;

for (const n of [1_000_003, 65_541]) {
  test(
    `cuda on ${probe.device ?? 'no device'}: every op at n = ${n} matches the oracle and the host build`,
    { skip },
    () => {
      const gpu = loadCudaOps();
      const host = loadHostOps();
      const oracle = createJsOps();
      for (const c of opCases(n)) {
        const onGpu = runCase(gpu, c);
        assertOutcome(onGpu, runCase(oracle, c), c, 'gpu vs oracle');
        const exact = c.sameBits ? { ...c, rtol: 0, atol: 0 } : c;
        assertOutcome(onGpu, runCase(host, c), exact, 'gpu vs host build');
      }
      gpu.dispose();
      host.dispose();
    },
  );
}

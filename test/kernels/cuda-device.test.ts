/**
 * The cuda backend on a GPU (skipped where none answers; with ANNEAL_REQUIRE_CUDA=1, as the device
 * check runs, a missing GPU fails instead): every op against the js oracle, and
 * against the host build of the same kernels, which must agree bit for bit wherever no float64
 * log/cos or summation order is involved (both builds compile without FMA contraction). The
 * lengths span many grid-stride rounds, several selection chunks of 16384 and odd tails; the
 * tie-heavy selection cases put the lowest-index tie cut inside a chunk in the middle.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadCudaOps, loadHostOps, probeCuda } from '../../src/kernels/cuda.js';
import { createJsOps } from '../../src/kernels/js.js';
import { assertOutcome, data, opCases, runCase } from './cuda-cases.js';
import { cudaSkip } from './helpers.js';

const probe = probeCuda();
const skip = cudaSkip(probe.ok ? false : `no usable GPU here (${probe.reason})`);

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

test('cuda: per-segment perturbation gives the same bits on every run', { skip }, () => {
  // Segments of many 16384-element chunks each, plus small ones and odd offsets: the per-chunk
  // norms are summed per segment in a fixed order (no float atomics), so the scales, and so x,
  // cannot depend on which blocks finished first.
  const gpu = loadCudaOps();
  const n = 3_000_017;
  const x0 = data(7, n, false);
  const segments = [
    { offset: 0, length: 1_200_001 },
    { offset: 1_200_001, length: 3 },
    { offset: 1_200_004, length: 999_999 },
    { offset: 2_300_000, length: 700_017 },
  ];
  const spec = { seed: 11, stream: 2, distribution: 'gaussian' } as const;
  let first: Float32Array | undefined;
  for (let run = 0; run < 5; run++) {
    const x = gpu.fromArray(x0);
    gpu.perturb(x, 0.05, spec, segments);
    const out = gpu.download(x);
    gpu.free(x);
    if (!first) first = out;
    else assert.ok(Buffer.from(out.buffer).equals(Buffer.from(first.buffer)), `run ${run} differs`);
  }
  gpu.dispose();
});

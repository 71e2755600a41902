/**
 * The native kernels from several worker threads at once (`anneal search --workers N` runs
 * Trainers in worker threads): each thread's reductions must return its own values. The CUDA
 * build keeps its stream, scratch, result slot, staging and chunk table per thread; before, they
 * were one process-wide state, so one worker's sumSquares could return another's. Each worker
 * loads the addon itself (one addon instance per environment), uploads a vector whose sums are
 * exact and different per worker, runs the reductions and a magnitude mask many times, frees
 * its vector and exits (the environment-cleanup hook then releases the thread's state).
 * The host build runs everywhere; the CUDA build where a GPU answers (ANNEAL_REQUIRE_CUDA=1:
 * required).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { probeCuda } from '../../src/kernels/cuda.js';
import { cudaSkip, hostKernelsSkip } from './helpers.js';

/** build/Release/<file> from test/kernels (tsx) or dist/test/kernels (compiled). */
function addonFile(file: string): string | undefined {
  const here = dirname(fileURLToPath(import.meta.url));
  return [join(here, '../../build/Release', file), join(here, '../../../build/Release', file)].find(
    existsSync,
  );
}

const WORKERS = 4;
const N = 100_003; // several reduction blocks and selection chunks, and an odd tail
const ROUNDS = 40;

// Plain CommonJS (no TypeScript loader in a worker). Worker k's vector: the value k + 1 except
// k + 1 zeros at the front, so sumSquares = (N - k - 1) (k + 1)^2 and countZeros = k + 1, both
// exact, and different for every worker; pruning k + 2 entries takes the zeros and the first
// k + 1 (lowest index first among ties), so the threshold is k + 1 and N - k - 2 stay.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const addon = require(workerData.addon);
const { k, n, rounds } = workerData;
const data = new Float32Array(n).fill(k + 1);
for (let i = 0; i <= k; i++) data[i] = 0;
const v = new addon.DeviceVector(n);
const mask = new addon.DeviceVector(n);
addon.upload(v, data);
const seen = [];
for (let r = 0; r < rounds; r++) {
  const sumSquares = addon.sumSquares(v);
  const zeros = addon.countZeros(v);
  const threshold = addon.magnitudeMask(v, mask, new Float64Array([0, n]), k + 2);
  seen.push([sumSquares, zeros, threshold]);
}
const out = new Float32Array(n);
addon.download(mask, out);
let kept = 0;
for (let i = 0; i < n; i++) kept += out[i];
v.free();
mask.free();
parentPort.postMessage({ seen, kept });
`;

interface Outcome {
  seen: [number, number, number][];
  kept: number;
}

function runWorker(addon: string, k: number): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { addon, k, n: N, rounds: ROUNDS },
    });
    let outcome: Outcome | undefined;
    worker.on('message', (m: Outcome) => (outcome = m));
    worker.on('error', reject);
    worker.on('exit', (code) =>
      code === 0 && outcome ? resolve(outcome) : reject(new Error(`worker ${k} exited ${code}`)),
    );
  });
}

async function checkWorkers(addon: string): Promise<void> {
  const outcomes = await Promise.all(
    Array.from({ length: WORKERS }, (_, k) => runWorker(addon, k)),
  );
  outcomes.forEach(({ seen, kept }, k) => {
    const want: [number, number, number] = [(N - k - 1) * (k + 1) ** 2, k + 1, k + 1];
    seen.forEach((got, r) => assert.deepEqual(got, want, `worker ${k}, round ${r}`));
    assert.equal(kept, N - k - 2, `worker ${k}: entries the mask keeps`);
  });
}

const hostAddon = addonFile('anneal_cpu.node');
const hostSkip = hostKernelsSkip() || (hostAddon ? false : 'anneal_cpu.node is not built here');

test(
  'host build: reductions from 4 worker threads at once each return their own',
  { skip: hostSkip },
  () => checkWorkers(hostAddon!),
);

const probe = probeCuda();
const cudaAddon = addonFile('anneal_cuda.node');
const gpuSkip = cudaSkip(
  probe.ok && cudaAddon ? false : `no usable GPU here (${probe.reason ?? 'no anneal_cuda.node'})`,
);

test(
  'cuda: reductions from 4 worker threads at once each return their own',
  { skip: gpuSkip },
  () => checkWorkers(cudaAddon!),
);

test(
  'cuda addon: loads, probes and exits in worker threads (its cleanup hook runs there)',
  { skip: cudaSkip(cudaAddon ? false : 'anneal_cuda.node is not built here') },
  async () => {
    const source = `
      const { parentPort, workerData } = require('node:worker_threads');
      const addon = require(workerData.addon);
      parentPort.postMessage(addon.probe().status);
    `;
    const statuses = await Promise.all(
      [0, 1].map(
        () =>
          new Promise<number>((resolve, reject) => {
            const worker = new Worker(source, { eval: true, workerData: { addon: cudaAddon } });
            let status: number | undefined;
            worker.on('message', (m: number) => (status = m));
            worker.on('error', reject);
            worker.on('exit', (code) =>
              code === 0 && status !== undefined
                ? resolve(status)
                : reject(new Error(`exit ${code}`)),
            );
          }),
      ),
    );
    // The same answer as this thread's probe: 0 with a GPU, the CUDA error without one.
    for (const status of statuses) assert.equal(status === 0, probe.ok);
  },
);

test(
  'host build: a worker that exits with vectors still alive exits cleanly (its cleanup hook frees them)',
  { skip: hostSkip },
  async () => {
    const source = `
      const { workerData } = require('node:worker_threads');
      const addon = require(workerData.addon);
      globalThis.kept = [1, 1000, 100_003].map((n) => new addon.DeviceVector(n));
      addon.sumSquares(globalThis.kept[2]);
    `;
    const code = await new Promise<number>((resolve, reject) => {
      const worker = new Worker(source, { eval: true, workerData: { addon: hostAddon } });
      worker.on('error', reject);
      worker.on('exit', resolve);
    });
    assert.equal(code, 0);
  },
);

/**
 * Kernel benchmark: every FlatOps op on the js, wasm and host backends at 1M and 10M elements,
 * as time and GB/s of the bytes each op moves, next to the physical limit measured in the same
 * run (a TypedArray.set copy in node, read + write bytes; a device copy for cuda) and to the
 * alternatives: tfjs-backend-wasm's Adam.applyGradients on the same N, and
 * Float32Array.prototype.sort of the magnitudes for the pruning threshold.
 *
 *   npm run bench:kernels [-- --smoke] [--backends js,wasm,host | cuda] [--sizes 1e6,1e7]
 *
 * The default backends are js, wasm and host (host only where anneal_cpu.node is built); host
 * runs on ANNEAL_THREADS threads, else every core.
 * Targets: wasm bandwidth-bound ops >= 80% of copy; AdamW >= 10x tfjs-wasm Adam and >= 5x js;
 * selection >= 10x sort; AdamW on host vs wasm is recorded against 1x (auto's order rests on
 * it, src/kernels/select.ts). Prints a table and one JSON line; writes
 * bench/results/kernels.json (kernels.smoke.json with --smoke; kernels-cuda.json for
 * --backends cuda).
 */
import os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import {
  createFlatOps,
  type FlatOps,
  type FlatVector,
  type KernelBackendName,
} from '../src/kernels/index.js';
import type { NativeFlatOps } from '../src/kernels/cuda.js';
import { writeResult } from './lib/results.js';
import {
  type Timing,
  type TimingOptions,
  gbPerSecond,
  measure,
  measureWithClock,
} from './lib/timing.js';

interface Options {
  smoke: boolean;
  backends: KernelBackendName[];
  sizes: number[];
  timing: TimingOptions;
}

function parseOptions(argv: string[]): Options {
  const value = (flag: string) => {
    const k = argv.indexOf(flag);
    return k >= 0 ? argv[k + 1] : undefined;
  };
  const smoke = argv.includes('--smoke');
  const backends = (value('--backends') ?? defaultBackends()).split(',') as KernelBackendName[];
  for (const b of backends) {
    if (!['js', 'wasm', 'host', 'cuda'].includes(b))
      throw new Error(`--backends: ${b} is not one of js, wasm, host, cuda`);
  }
  const defaultSizes = smoke ? '65539' : backends.includes('cuda') ? '1e6,1e7,67108864' : '1e6,1e7';
  const sizes = (value('--sizes') ?? defaultSizes).split(',').map((s) => Math.round(Number(s)));
  if (sizes.some((n) => !Number.isSafeInteger(n) || n < 1))
    throw new Error('--sizes: expected positive integers');
  return {
    smoke,
    backends,
    sizes,
    timing: smoke ? { maxTime: 0.02, minSamples: 2 } : { maxTime: 1, minSamples: 5 },
  };
}

/** js and wasm, and host where it loads (else one line says why it is left out). */
function defaultBackends(): string {
  try {
    createFlatOps('host').dispose();
    return 'js,wasm,host';
  } catch (e) {
    console.error(
      `bench:kernels: no host backend (${(e as Error).message.split('\n')[1]?.trim()})`,
    );
    return 'js,wasm';
  }
}

/** How an op is judged: bandwidth-bound ops against the copy, the others by time. */
type Bound = 'bandwidth' | 'compute' | 'select';

interface OpCase {
  op: string;
  /** Bytes read and written per element (fp32: 4 per vector pass). */
  bytes: number;
  bound: Bound;
  run: () => void;
}

/** Deterministic data in [-0.5, 0.5): no denormals, no drift to overflow under repetition. */
function hostData(n: number, salt: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const s = Math.sin((i + salt) * 12.9898) * 43758.5453;
    out[i] = s - Math.floor(s) - 0.5;
  }
  return out;
}

/** Every op of FlatOps on vectors of n elements; the returned free() releases them. */
function opCases(ops: FlatOps, n: number): { cases: OpCase[]; free: () => void } {
  const data = hostData(n, 1);
  const positive = data.map((x) => 0.01 * x * x);
  const vectors: FlatVector[] = [];
  const vec = (init: Float32Array = data) => {
    const v = ops.fromArray(init);
    vectors.push(v);
    return v;
  };
  const [p, g, m, x, y, out, a, b, c, buf, slow, fast, mu] = Array.from({ length: 13 }, () =>
    vec(),
  );
  const [v, vMax] = [vec(positive), vec(positive)];
  const ones = vec(new Float32Array(n).fill(1));
  const mask = vec(data.map((d) => (d < -0.3 ? 0 : 1)));
  const adamw = {
    lr: 1e-3,
    beta1: 0.9,
    beta2: 0.999,
    eps: 1e-8,
    weightDecay: 0.01,
    decoupled: true,
    step: 10,
  };
  const sgd = {
    lr: 0.01,
    momentum: 0.9,
    dampening: 0,
    nesterov: true,
    weightDecay: 1e-4,
    decoupled: false,
    step: 10,
  };
  const langevin = { eta: 1e-3, gamma: 1e-3, noise: 1e-4, alpha: 0.25, seed: 1, stream: 2 };
  const gaussian = { seed: 5, stream: 0, distribution: 'gaussian' as const };
  const whole = [{ offset: 0, length: n }];
  const cases: OpCase[] = [
    { op: 'copy', bytes: 8, bound: 'bandwidth', run: () => ops.copy(out, x) },
    { op: 'fill', bytes: 4, bound: 'bandwidth', run: () => ops.fill(out, 0.5) },
    { op: 'scale', bytes: 8, bound: 'bandwidth', run: () => ops.scale(x, 1) },
    { op: 'axpy', bytes: 12, bound: 'bandwidth', run: () => ops.axpy(y, 1e-7, x) },
    { op: 'mul', bytes: 12, bound: 'bandwidth', run: () => ops.mul(out, a, b) },
    { op: 'applyMask', bytes: 12, bound: 'bandwidth', run: () => ops.applyMask(x, ones) },
    { op: 'adamw', bytes: 28, bound: 'bandwidth', run: () => ops.adam(p, g, m, v, null, adamw) },
    {
      op: 'adamw+amsgrad+masks',
      bytes: 44,
      bound: 'bandwidth',
      run: () => ops.adam(p, g, m, v, vMax, adamw, { lrMask: ones, decayMask: mask }),
    },
    { op: 'sgd nesterov', bytes: 20, bound: 'bandwidth', run: () => ops.sgd(p, g, buf, sgd) },
    {
      op: 'lookaheadSync',
      bytes: 16,
      bound: 'bandwidth',
      run: () => ops.lookaheadSync(slow, fast, 0.5),
    },
    {
      op: 'langevinStep',
      bytes: 24,
      bound: 'compute',
      run: () => ops.langevinStep(x, g, y, mu, langevin),
    },
    { op: 'runningMean', bytes: 12, bound: 'bandwidth', run: () => ops.runningMean(y, x, 10) },
    { op: 'ema', bytes: 12, bound: 'bandwidth', run: () => ops.ema(y, x, 0.999) },
    {
      op: 'weightedSum(3)',
      bytes: 16,
      bound: 'bandwidth',
      run: () => ops.weightedSum(out, [a, b, c], [0.2, 0.3, 0.5]),
    },
    { op: 'lerp', bytes: 12, bound: 'bandwidth', run: () => ops.lerp(out, a, b, 0.3) },
    { op: 'bezier', bytes: 16, bound: 'bandwidth', run: () => ops.bezier(out, a, b, c, 0.3) },
    { op: 'dot', bytes: 8, bound: 'bandwidth', run: () => ops.dot(a, b) },
    { op: 'sumSquares', bytes: 4, bound: 'bandwidth', run: () => ops.sumSquares(a) },
    { op: 'maxAbs', bytes: 4, bound: 'bandwidth', run: () => ops.maxAbs(a) },
    { op: 'countNonFinite', bytes: 4, bound: 'bandwidth', run: () => ops.countNonFinite(a) },
    { op: 'countZeros', bytes: 4, bound: 'bandwidth', run: () => ops.countZeros(a) },
    {
      op: 'clipByGlobalNorm',
      bytes: 4,
      bound: 'bandwidth',
      run: () => ops.clipByGlobalNorm(a, 1e30),
    },
    { op: 'random gaussian', bytes: 4, bound: 'compute', run: () => ops.random(out, gaussian) },
    {
      op: 'perturb gaussian',
      bytes: 8,
      bound: 'compute',
      run: () => ops.perturb(y, 1e-6, gaussian),
    },
    // 90% sparsity; three histogram passes and the mask pass read x (16 B), the mask is written (4 B).
    {
      op: 'magnitudeMask 90%',
      bytes: 20,
      bound: 'select',
      run: () => ops.magnitudeMask(a, out, whole, Math.floor(0.9 * n)),
    },
  ];
  const free = () => vectors.forEach((vec) => ops.free(vec));
  return { cases, free };
}

/** CUDA events on cuda (queued GPU work); benchmark.js on the host backends. */
function timeOn(ops: FlatOps, fn: () => void, opts: Options): Timing {
  if (ops.name === 'cuda') {
    const device = ops as NativeFlatOps;
    return measureWithClock(device.elapsedMs.bind(ops), fn, opts.smoke ? 5 : 100);
  }
  return measure(fn, opts.timing);
}

/** The physical limit on the host: TypedArray.set (a memcpy) of n float32, read + write bytes. */
function hostCopy(n: number, opts: Options): Timing {
  const src = hostData(n, 2);
  const dst = new Float32Array(n);
  return measure(() => dst.set(src), opts.timing);
}

/** tfjs-backend-wasm's Adam on one variable of n elements (the per-tensor, unfused alternative). */
async function tfjsWasmAdam(n: number, opts: Options): Promise<Timing> {
  if (!(await tf.setBackend('wasm'))) throw new Error('tfjs: the wasm backend did not start');
  await tf.ready();
  const param = tf.variable(tf.tensor1d(hostData(n, 3)));
  const grad = tf.tensor1d(hostData(n, 4));
  const optimizer = tf.train.adam(1e-3, 0.9, 0.999, 1e-8);
  try {
    return measure(
      () => optimizer.applyGradients([{ name: param.name, tensor: grad }]),
      opts.timing,
    );
  } finally {
    optimizer.dispose();
    param.dispose();
    grad.dispose();
  }
}

/** Sorting the magnitudes: what a threshold by sort costs (copy of the unsorted input included). */
function sortMagnitudes(n: number, opts: Options): Timing {
  const magnitudes = hostData(n, 1).map(Math.abs);
  const scratch = new Float32Array(n);
  return measure(() => {
    scratch.set(magnitudes);
    scratch.sort();
  }, opts.timing);
}

interface Row {
  n: number;
  backend: string;
  op: string;
  bound: Bound | 'reference';
  ms: number;
  rme: number;
  gbps: number;
  ofCopy: number;
}

function row(
  n: number,
  backend: string,
  op: string,
  bound: Row['bound'],
  t: Timing,
  bytes: number,
  limit: number,
): Row {
  const gbps = gbPerSecond(bytes * n, t.ms);
  return { n, backend, op, bound, ms: t.ms, rme: t.rme, gbps, ofCopy: gbps / limit };
}

/** Every op on one backend; cuda is judged against its own device copy (its first op). */
function backendRows(
  backend: KernelBackendName,
  n: number,
  hostCopyGbps: number,
  opts: Options,
): Row[] {
  const ops = createFlatOps(backend);
  const { cases, free } = opCases(ops, n);
  try {
    const timings = cases.map((c) => timeOn(ops, c.run, opts));
    const limit = backend === 'cuda' ? gbPerSecond(8 * n, timings[0].ms) : hostCopyGbps;
    return cases.map((c, k) => row(n, backend, c.op, c.bound, timings[k], c.bytes, limit));
  } finally {
    free();
    ops.dispose();
  }
}

const ratio = (value: number, target: number) => ({
  value: Number(value.toFixed(2)),
  target,
  met: value >= target,
});

/** The targets of the backends on the host at one n, from its rows. */
function hostTargets(
  rows: Row[],
  n: number,
  copyGbps: number,
  backends: KernelBackendName[],
): Record<string, unknown> {
  const at = (backend: string, op: string) =>
    rows.find((r) => r.backend === backend && r.op === op)!.ms;
  const bandwidthBound = rows.filter((r) => r.backend === 'wasm' && r.bound === 'bandwidth');
  const fractions = bandwidthBound.map((r) => r.ofCopy).sort((x, y) => x - y);
  return {
    n,
    copyGBps: Number(copyGbps.toFixed(2)),
    wasmBandwidthOfCopy: {
      min: Number(fractions[0].toFixed(2)),
      median: Number(fractions[Math.floor(fractions.length / 2)].toFixed(2)),
      target: 0.8,
      below: bandwidthBound
        .filter((r) => r.ofCopy < 0.8)
        .map((r) => `${r.op} ${(100 * r.ofCopy).toFixed(0)}%`),
    },
    adamwVsTfjsWasm: ratio(at('tfjs-wasm', 'adam applyGradients') / at('wasm', 'adamw'), 10),
    ...(backends.includes('js')
      ? { adamwWasmVsJs: ratio(at('js', 'adamw') / at('wasm', 'adamw'), 5) }
      : {}),
    ...(backends.includes('host')
      ? { adamwHostVsWasm: ratio(at('wasm', 'adamw') / at('host', 'adamw'), 1) }
      : {}),
    selectionVsSort: ratio(at('node', 'sort magnitudes') / at('wasm', 'magnitudeMask 90%'), 10),
  };
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const rows: Row[] = [];
  const targets: Record<string, unknown>[] = [];
  for (const n of opts.sizes) {
    const sized: Row[] = [];
    const onHost = opts.backends.some((b) => b !== 'cuda');
    const copy = onHost ? hostCopy(n, opts) : undefined;
    const copyGbps = copy ? gbPerSecond(8 * n, copy.ms) : NaN;
    if (copy) sized.push(row(n, 'node', 'TypedArray.set copy', 'reference', copy, 8, copyGbps));
    for (const backend of opts.backends) sized.push(...backendRows(backend, n, copyGbps, opts));
    if (opts.backends.includes('wasm')) {
      // tfjs moves at least the 28 bytes per parameter of a fused step; the sort has no byte count.
      sized.push(
        row(
          n,
          'tfjs-wasm',
          'adam applyGradients',
          'reference',
          await tfjsWasmAdam(n, opts),
          28,
          copyGbps,
        ),
      );
      sized.push(
        row(n, 'node', 'sort magnitudes', 'reference', sortMagnitudes(n, opts), NaN, copyGbps),
      );
      targets.push(hostTargets(sized, n, copyGbps, opts.backends));
    } else {
      const deviceCopy = sized.find((r) => r.backend === 'cuda' && r.op === 'copy');
      targets.push({ n, deviceCopyGBps: deviceCopy?.gbps });
    }
    rows.push(...sized);
  }
  printTable(rows, opts);
  const name = opts.backends.includes('cuda') ? `kernels-${opts.backends.join('-')}` : 'kernels';
  const hostThreads = opts.backends.includes('host')
    ? (process.env.ANNEAL_THREADS ?? `every core (${os.cpus().length})`)
    : undefined;
  const config = {
    sizes: opts.sizes,
    backends: opts.backends,
    timing: opts.timing,
    fp32: true,
    ...(hostThreads ? { hostThreads } : {}),
  };
  const path = writeResult(name, { config, targets, rows }, { smoke: opts.smoke });
  console.log(JSON.stringify({ bench: name, smoke: opts.smoke, targets }));
  console.error(`wrote ${path}`);
}

function printTable(rows: Row[], opts: Options): void {
  const fmt = (x: number, digits: number) => (Number.isFinite(x) ? x.toFixed(digits) : '-');
  for (const n of opts.sizes) {
    console.log(`\nN = ${n.toLocaleString('en-US')} float32`);
    console.log(
      [
        'op'.padEnd(24),
        'backend'.padEnd(10),
        'ms'.padStart(10),
        '±%'.padStart(6),
        'GB/s'.padStart(8),
        'of copy'.padStart(8),
      ].join(' '),
    );
    for (const r of rows.filter((row) => row.n === n)) {
      const cells = [
        r.op.padEnd(24),
        r.backend.padEnd(10),
        fmt(r.ms, 3).padStart(10),
        fmt(r.rme, 1).padStart(6),
      ];
      cells.push(
        fmt(r.gbps, 2).padStart(8),
        (Number.isFinite(r.ofCopy) ? `${(100 * r.ofCopy).toFixed(0)}%` : '-').padStart(8),
      );
      console.log(cells.join(' '));
    }
  }
}

await main();

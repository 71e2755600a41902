/**
 * CUDA kernel benchmark: every FlatOps op of the cuda backend at several sizes, timed with CUDA
 * events inside the addon, reported as GB/s next to a device-to-device copy measured in the same
 * run (the physical limit of these bandwidth-bound ops), and, when bench/torch_baseline.py's
 * output is given, next to PyTorch's fused AdamW and topk on the same GPU.
 *
 * Plain node, no node_modules: compiled by tsc to dist/bench/cuda-kernels.js and run there by
 * bench/device-check.sh on the GPU machine (the `benchmark` package is not available there).
 *
 *   node dist/bench/cuda-kernels.js [--sizes 1e6,1e7,16777216,67108864] [--torch torch.json]
 *                                   [--out DIR] [--build cuda|host] [--smoke]
 * --build host times the host build of the same kernels (a check of this script; bench:kernels
 * is where the host backend is measured);
 * --smoke uses small sizes; --out writes cuda-kernels.json there instead of bench/results/.
 */
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCudaOps, loadHostOps, type NativeFlatOps } from '../src/kernels/cuda.js';
import type { FlatVector } from '../src/kernels/types.js';
import { gitCommit, machine, writeResult } from './lib/results.js';

interface Options {
  sizes: number[];
  build: 'cuda' | 'host';
  smoke: boolean;
  torch?: string;
  out?: string;
  /** Aim for this much GPU time per measurement. */
  targetMs: number;
}

function parseOptions(argv: string[]): Options {
  const value = (flag: string) => {
    const k = argv.indexOf(flag);
    return k >= 0 ? argv[k + 1] : undefined;
  };
  const smoke = argv.includes('--smoke');
  const build = (value('--build') ?? 'cuda') as Options['build'];
  if (build !== 'cuda' && build !== 'host')
    throw new Error(`--build ${build}: expected cuda or host`);
  const sizes = (value('--sizes') ?? (smoke ? '4099,65536' : '1e6,1e7,16777216,67108864'))
    .split(',')
    .map((s) => Math.round(Number(s)));
  if (sizes.some((n) => !Number.isSafeInteger(n) || n < 1))
    throw new Error(`--sizes: expected positive integers`);
  return {
    sizes,
    build,
    smoke,
    torch: value('--torch'),
    out: value('--out'),
    targetMs: smoke ? 5 : 60,
  };
}

/** How an op's time is judged: streaming ops and reductions against the copy bandwidth. */
type Kind = 'copy' | 'stream' | 'reduce' | 'random' | 'select';

interface OpCase {
  op: string;
  kind: Kind;
  /** Bytes read + written per element (fp32), the minimum any implementation must move. */
  bytesPerElement: number;
  run: () => void;
}

interface OpResult {
  op: string;
  kind: Kind;
  n: number;
  ms: number;
  gbps: number;
  /** GB/s as a fraction of the D2D copy's GB/s at the same n. */
  ofCopy: number;
  bytesPerElement: number;
  repeats: number;
}

/** Milliseconds per run: two warm-up runs, then enough repeats to fill `targetMs`. */
function measure(
  ops: NativeFlatOps,
  run: () => void,
  targetMs: number,
): { ms: number; repeats: number } {
  run();
  run();
  const single = ops.elapsedMs(run, 1);
  const repeats = Math.max(3, Math.min(500, Math.ceil(targetMs / Math.max(single, 1e-3))));
  return { ms: ops.elapsedMs(run, repeats), repeats };
}

function cases(ops: NativeFlatOps, n: number, vec: () => FlatVector): OpCase[] {
  const [p, g, m, v, vMax, buf, lrMask, decayMask] = Array.from({ length: 8 }, vec);
  const [x, y, out, a, b, bend, mask, avg] = Array.from({ length: 8 }, vec);
  const soup = Array.from({ length: 4 }, vec);
  let stream = 0;
  for (const t of [p, g, m, x, y, a, b, bend, avg, ...soup])
    ops.random(t, { seed: 1, stream: stream++, distribution: 'gaussian' });
  for (const t of [v, vMax, buf])
    ops.random(t, { seed: 1, stream: stream++, distribution: 'uniform' });
  for (const t of [lrMask, decayMask]) ops.fill(t, 1);
  ops.random(mask, { seed: 1, stream: stream++, distribution: 'rademacher' });
  const adamW = {
    lr: 1e-3,
    beta1: 0.9,
    beta2: 0.999,
    eps: 1e-8,
    weightDecay: 1e-2,
    decoupled: true,
    step: 10,
  };
  const sgd = {
    lr: 1e-3,
    momentum: 0.9,
    dampening: 0,
    nesterov: true,
    weightDecay: 5e-4,
    decoupled: false,
    step: 10,
  };
  const langevin = { eta: 1e-4, gamma: 1e-3, noise: 1e-4, alpha: 0.75, seed: 3, stream: 0 };
  const spec = { seed: 7, stream: 0, distribution: 'gaussian' as const };
  // 64 "layers" of equal size, the shape of filter-normalised perturbation over a model.
  const segments = Array.from({ length: 64 }, (_, k) => ({
    offset: Math.floor((k * n) / 64),
    length: Math.floor(((k + 1) * n) / 64) - Math.floor((k * n) / 64),
  }));
  const pruneCount = Math.round(0.9 * n);
  return [
    { op: 'copy (D2D)', kind: 'copy', bytesPerElement: 8, run: () => ops.copy(y, x) },
    { op: 'fill', kind: 'stream', bytesPerElement: 4, run: () => ops.fill(out, 0.5) },
    { op: 'scale', kind: 'stream', bytesPerElement: 8, run: () => ops.scale(y, 1) },
    { op: 'axpy', kind: 'stream', bytesPerElement: 12, run: () => ops.axpy(y, 1e-6, x) },
    { op: 'mul', kind: 'stream', bytesPerElement: 12, run: () => ops.mul(out, a, b) },
    { op: 'applyMask', kind: 'stream', bytesPerElement: 12, run: () => ops.applyMask(y, mask) },
    {
      op: 'adamw',
      kind: 'stream',
      bytesPerElement: 28,
      run: () => ops.adam(p, g, m, v, null, adamW),
    },
    {
      op: 'adamw+amsgrad+masks',
      kind: 'stream',
      bytesPerElement: 44,
      run: () => ops.adam(p, g, m, v, vMax, adamW, { lrMask, decayMask }),
    },
    { op: 'sgd nesterov', kind: 'stream', bytesPerElement: 20, run: () => ops.sgd(p, g, buf, sgd) },
    {
      op: 'lookaheadSync',
      kind: 'stream',
      bytesPerElement: 16,
      run: () => ops.lookaheadSync(a, b, 0.5),
    },
    {
      op: 'runningMean',
      kind: 'stream',
      bytesPerElement: 12,
      run: () => ops.runningMean(avg, x, 3),
    },
    { op: 'ema', kind: 'stream', bytesPerElement: 12, run: () => ops.ema(avg, x, 0.999) },
    {
      op: 'weightedSum (4)',
      kind: 'stream',
      bytesPerElement: 20,
      run: () => ops.weightedSum(out, soup, [0.25, 0.25, 0.25, 0.25]),
    },
    { op: 'lerp', kind: 'stream', bytesPerElement: 12, run: () => ops.lerp(out, a, b, 0.3) },
    {
      op: 'bezier',
      kind: 'stream',
      bytesPerElement: 16,
      run: () => ops.bezier(out, a, bend, b, 0.3),
    },
    { op: 'dot', kind: 'reduce', bytesPerElement: 8, run: () => void ops.dot(a, b) },
    { op: 'sumSquares', kind: 'reduce', bytesPerElement: 4, run: () => void ops.sumSquares(a) },
    { op: 'maxAbs', kind: 'reduce', bytesPerElement: 4, run: () => void ops.maxAbs(a) },
    {
      op: 'countNonFinite',
      kind: 'reduce',
      bytesPerElement: 4,
      run: () => void ops.countNonFinite(a),
    },
    { op: 'countZeros', kind: 'reduce', bytesPerElement: 4, run: () => void ops.countZeros(a) },
    {
      op: 'langevinStep',
      kind: 'random',
      bytesPerElement: 24,
      run: () => ops.langevinStep(y, g, x, avg, langevin),
    },
    { op: 'random gaussian', kind: 'random', bytesPerElement: 4, run: () => ops.random(out, spec) },
    {
      op: 'random rademacher',
      kind: 'random',
      bytesPerElement: 4,
      run: () => ops.random(out, { ...spec, distribution: 'rademacher' }),
    },
    { op: 'perturb', kind: 'random', bytesPerElement: 8, run: () => ops.perturb(y, 1e-6, spec) },
    {
      op: 'perturb 64 segments',
      kind: 'random',
      bytesPerElement: 12,
      run: () => ops.perturb(y, 1e-6, spec, segments),
    },
    {
      op: 'magnitudeMask 90%',
      kind: 'select',
      // three histogram passes over x, then x read and the mask written once
      bytesPerElement: 20,
      run: () => void ops.magnitudeMask(x, out, [{ offset: 0, length: n }], pruneCount),
    },
  ];
}

interface TorchBaseline {
  torch: string;
  device: string;
  sizes: { n: number; copy_ms: number; adamw_fused_ms: number }[];
  threshold?: {
    n: number;
    prune: number;
    abs_topk_ms: number;
    topk_ms: number;
    topk_mask_ms: number;
  };
}

function readTorch(path: string | undefined): TorchBaseline | undefined {
  if (!path) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as TorchBaseline;
  } catch (e) {
    console.error(
      `cuda-kernels: no PyTorch baseline (${(e as Error).message}); continuing without it`,
    );
    return undefined;
  }
}

function main(): void {
  const options = parseOptions(process.argv.slice(2));
  const ops = options.build === 'cuda' ? loadCudaOps() : loadHostOps();
  const results: OpResult[] = [];
  const checks: Record<string, boolean> = {};
  for (const n of options.sizes) {
    const vectors: FlatVector[] = [];
    const vec = () => {
      const v = ops.alloc(n);
      vectors.push(v);
      return v;
    };
    let copyGbps = NaN;
    for (const c of cases(ops, n, vec)) {
      const { ms, repeats } = measure(ops, c.run, options.targetMs);
      const gbps = (c.bytesPerElement * n) / (ms * 1e6);
      if (c.kind === 'copy') copyGbps = gbps;
      results.push({
        op: c.op,
        kind: c.kind,
        n,
        ms,
        gbps,
        ofCopy: gbps / copyGbps,
        bytesPerElement: c.bytesPerElement,
        repeats,
      });
    }
    // The selection must zero exactly the requested count (the tests check the rest).
    const x = vec();
    const mask = vec();
    ops.random(x, { seed: 5, stream: 0, distribution: 'gaussian' });
    const count = Math.round(0.9 * n);
    ops.magnitudeMask(x, mask, [{ offset: 0, length: n }], count);
    checks[`magnitudeMask zeroes ${count} of ${n}`] = ops.countZeros(mask) === count;
    vectors.forEach((v) => ops.free(v));
  }

  const torch = readTorch(options.torch);
  const comparisons = compareWithTorch(results, torch);
  const targets = judgeTargets(results, comparisons);
  printTable(results, comparisons);

  const record = {
    config: { ...options, device: ops.device, build: ops.name },
    results,
    torch: torch ?? null,
    comparisons,
    targets,
    checks,
  };
  console.log(
    JSON.stringify({ bench: 'cuda-kernels', device: ops.device, targets, comparisons, checks }),
  );
  const name = `cuda-kernels${options.build === 'host' ? '-hostbuild' : ''}`;
  if (options.out) {
    mkdirSync(options.out, { recursive: true });
    const path = join(options.out, `${name}${options.smoke ? '.smoke' : ''}.json`);
    const full = {
      name,
      date: new Date().toISOString(),
      // The device check names the commit its build came from: the GPU machine's copy of the
      // checkout carries the session's first .git state, not the build's.
      commit: process.env.ANNEAL_BUILD_COMMIT ?? gitCommit(),
      machine: machine(),
      smoke: options.smoke,
      ...record,
    };
    writeFileSync(path, JSON.stringify(full, null, 2) + '\n');
    console.log(`wrote ${path}`);
  } else {
    console.log(`wrote ${writeResult(name, record, { smoke: options.smoke })}`);
  }
  ops.dispose();
}

interface Comparison {
  what: string;
  n: number;
  anneal_ms: number;
  torch_ms: number;
  /** torch time / anneal time: > 1 means anneal is faster. */
  speedup: number;
}

function compareWithTorch(results: OpResult[], torch: TorchBaseline | undefined): Comparison[] {
  if (!torch) return [];
  const find = (op: string, n: number) => results.find((r) => r.op === op && r.n === n);
  const out: Comparison[] = [];
  for (const t of torch.sizes) {
    const copy = find('copy (D2D)', t.n);
    const adam = find('adamw', t.n);
    if (copy)
      out.push({
        what: 'copy vs torch copy_',
        n: t.n,
        anneal_ms: copy.ms,
        torch_ms: t.copy_ms,
        speedup: t.copy_ms / copy.ms,
      });
    if (adam) {
      out.push({
        what: 'adamw vs torch AdamW(fused=True)',
        n: t.n,
        anneal_ms: adam.ms,
        torch_ms: t.adamw_fused_ms,
        speedup: t.adamw_fused_ms / adam.ms,
      });
    }
  }
  const th = torch.threshold;
  const mask = th && find('magnitudeMask 90%', th.n);
  if (th && mask) {
    out.push({
      what: 'magnitudeMask 90% vs torch.topk(|x|)',
      n: th.n,
      anneal_ms: mask.ms,
      torch_ms: th.abs_topk_ms,
      speedup: th.abs_topk_ms / mask.ms,
    });
    out.push({
      what: 'magnitudeMask 90% vs torch.topk (|x| precomputed)',
      n: th.n,
      anneal_ms: mask.ms,
      torch_ms: th.topk_ms,
      speedup: th.topk_ms / mask.ms,
    });
    out.push({
      what: 'magnitudeMask 90% vs torch topk + mask scatter',
      n: th.n,
      anneal_ms: mask.ms,
      torch_ms: th.topk_mask_ms,
      speedup: th.topk_mask_ms / mask.ms,
    });
  }
  return out;
}

const LARGE = 16 * 2 ** 20;

/** Ops of `kind` at n >= 16M against 90% of the copy's GB/s; null when none was measured. */
function bandwidthTarget(results: OpResult[], kind: Kind) {
  const large = results.filter((r) => r.n >= LARGE && r.kind === kind);
  if (!large.length) return null;
  const below = large
    .filter((r) => r.ofCopy < 0.9)
    .map((r) => `${r.op} @ ${r.n}: ${(100 * r.ofCopy).toFixed(0)}% of copy`);
  return { pass: below.length === 0, below };
}

/**
 * The design targets: streaming ops >= 90% of copy bandwidth for n >= 16M (reductions reported
 * on their own: their time includes the round trip that returns a number to JS), AdamW >= 1.2x
 * torch's fused AdamW, the 90% threshold no slower than torch.topk on precomputed |x|.
 */
function judgeTargets(results: OpResult[], comparisons: Comparison[]) {
  const adam = comparisons.filter((c) => c.what.startsWith('adamw') && c.n >= LARGE);
  const threshold = comparisons.filter(
    (c) => c.what === 'magnitudeMask 90% vs torch.topk (|x| precomputed)',
  );
  const speedups = (cs: Comparison[], min: number) =>
    cs.length
      ? { pass: cs.every((c) => c.speedup >= min), speedups: cs.map((c) => c.speedup) }
      : null;
  return {
    streamingAtLeast90PercentOfCopy: bandwidthTarget(results, 'stream'),
    reductionsAtLeast90PercentOfCopy: bandwidthTarget(results, 'reduce'),
    adamwAtLeast1_2xTorchFused: speedups(adam, 1.2),
    thresholdNotSlowerThanTopk: speedups(threshold, 1),
  };
}

function printTable(results: OpResult[], comparisons: Comparison[]): void {
  const pad = (s: string, w: number) => s.padEnd(w);
  const num = (x: number, w: number, digits: number) => x.toFixed(digits).padStart(w);
  console.log(
    `${pad('op', 24)} ${'n'.padStart(10)} ${'ms'.padStart(10)} ${'GB/s'.padStart(8)} ${'% copy'.padStart(7)}`,
  );
  for (const r of results) {
    console.log(
      `${pad(r.op, 24)} ${String(r.n).padStart(10)} ${num(r.ms, 10, 4)} ${num(r.gbps, 8, 0)} ${num(100 * r.ofCopy, 7, 0)}`,
    );
  }
  for (const c of comparisons) {
    console.log(
      `${pad(c.what, 48)} n=${c.n} anneal ${c.anneal_ms.toFixed(4)} ms, torch ${c.torch_ms.toFixed(4)} ms, ${c.speedup.toFixed(2)}x`,
    );
  }
}

main();

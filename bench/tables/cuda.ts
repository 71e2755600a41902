/**
 * The GPU check's two records (bench/device-check.sh on a lent machine): training steps on
 * anneal-cuda next to PyTorch eager (cuda-backend.json, from bench/device-train.ts) and the
 * FlatOps kernels on device memory next to a device-to-device copy and PyTorch's ops
 * (cuda-kernels.json, from bench/cuda-kernels.ts).
 */
import { markdownTable, provenance, type Renderer, type ResultBase } from '../lib/tables.js';

interface KernelCount {
  calls: number;
  ms: number;
}

export interface CudaBackendResult extends ResultBase {
  config: {
    device: string;
    step: string;
    mathMode: string;
    torch: { version: string; device: string; mathMode: string } | null;
    annealCpuRecorded: { samplesPerSecond: Record<string, number>; source: string } | null;
  };
  rows: {
    model: string;
    batch: number;
    ms: number;
    samplesPerSecond: number;
    profile?: {
      stepMs: number;
      kernels: [string, KernelCount][];
      fallbacks: [string, KernelCount][];
    };
  }[];
  comparisons: {
    model: string;
    batch: number;
    torchSamplesPerSecond: number | null;
    ofTorch: number | null;
  }[];
  targets: { what: string; value: number | null; met: boolean }[];
}

function renderCudaBackend(r: CudaBackendResult): string {
  const cpu = r.config.annealCpuRecorded;
  const table = markdownTable(
    [
      'model',
      'batch',
      'anneal-cuda ms',
      'samples/s',
      'PyTorch ms',
      'samples/s',
      'of PyTorch',
      'x anneal-cpu',
      'kernels a step',
      'most device time (ms a step, each kernel waited for)',
    ],
    r.rows.map((row) => {
      const c = r.comparisons.find((x) => x.model === row.model && x.batch === row.batch);
      const torchMs = c?.torchSamplesPerSecond
        ? (1000 * row.batch) / c.torchSamplesPerSecond
        : null;
      const onCpu = cpu?.samplesPerSecond[row.model];
      const kernels = row.profile?.kernels ?? [];
      const calls = kernels.reduce((n, [, k]) => n + k.calls, 0);
      return [
        row.model,
        String(row.batch),
        row.ms.toFixed(2),
        Math.round(row.samplesPerSecond).toLocaleString('en-US'),
        torchMs === null ? '–' : torchMs.toFixed(2),
        c?.torchSamplesPerSecond
          ? Math.round(c.torchSamplesPerSecond).toLocaleString('en-US')
          : '–',
        c?.ofTorch == null ? '–' : `${(100 * c.ofTorch).toFixed(0)}%`,
        onCpu ? `${(row.samplesPerSecond / onCpu).toFixed(1)}x` : '–',
        row.profile ? Math.round(calls).toLocaleString('en-US') : '–',
        kernels
          .slice(0, 4)
          .map(([name, k]) => `${name} ${k.ms.toFixed(2)}`)
          .join(', ') + ((row.profile?.fallbacks.length ?? 0) > 0 ? '; fallbacks!' : ''),
      ];
    }),
  );
  const targets = r.targets.map(
    (t) =>
      `- ${t.what}: ${t.value === null ? '–' : t.value < 2 ? `${(100 * t.value).toFixed(0)}%` : `${t.value.toFixed(1)}x`} (${t.met ? 'met' : 'not met'})`,
  );
  return [
    `One training step (${r.config.step}), median of its samples, on ${r.config.device}; PyTorch ${r.config.torch?.version ?? '(not measured)'} eager on ${r.config.torch?.device ?? '–'} in the same run (${r.config.torch?.mathMode ?? ''}). Math: ${r.config.mathMode}. "x anneal-cpu" divides by anneal-cpu's best recorded samples/s (${cpu?.source ?? 'none recorded'}). The kernel columns come from 3 more steps with every kernel waiting for its device work (profileKernels), so they hold device time plus a synchronisation each.`,
    '',
    table,
    '',
    "Issue 18's targets:",
    '',
    ...targets,
    '',
    provenance(r),
  ].join('\n');
}

export interface CudaKernelsResult extends ResultBase {
  config: { device: string };
  torch: { torch: string; cuda: string; device: string } | null;
  results: {
    op: string;
    kind: string;
    n: number;
    ms: number;
    gbps: number | null;
    ofCopy: number | null;
  }[];
  comparisons: { what: string; n: number; anneal_ms: number; torch_ms: number; speedup: number }[];
  targets: Record<string, { pass: boolean; below?: string[]; speedups?: number[] }>;
}

function renderCudaKernels(r: CudaKernelsResult): string {
  const sizes = [...new Set(r.results.map((x) => x.n))].sort((a, b) => a - b);
  const large = sizes.filter((n) => n >= 16_777_216);
  const ops = [...new Set(r.results.map((x) => x.op))];
  const cell = (op: string, n: number) => {
    const x = r.results.find((y) => y.op === op && y.n === n);
    if (!x) return '–';
    const share =
      x.ofCopy === null || x.kind === 'copy' ? '' : ` (${(100 * x.ofCopy).toFixed(0)}%)`;
    return x.gbps === null ? `${x.ms.toFixed(4)} ms` : `${x.gbps.toFixed(0)} GB/s${share}`;
  };
  const table = markdownTable(
    ['op', 'kind', ...large.map((n) => `N = ${n.toLocaleString('en-US')}: GB/s (of copy)`)],
    ops.map((op) => [
      op,
      r.results.find((x) => x.op === op)!.kind,
      ...large.map((n) => cell(op, n)),
    ]),
  );
  const vsTorch = markdownTable(
    ['anneal vs PyTorch', 'N', 'anneal ms', 'PyTorch ms', 'speedup'],
    r.comparisons.map((c) => [
      c.what,
      c.n.toLocaleString('en-US'),
      c.anneal_ms.toFixed(4),
      c.torch_ms.toFixed(4),
      `${c.speedup.toFixed(2)}x`,
    ]),
  );
  const targets = Object.entries(r.targets).map(
    ([name, t]) =>
      `- ${name}: ${t.pass ? 'met' : 'not met'}${t.below?.length ? ` (below: ${t.below.join('; ')})` : ''}${t.speedups ? ` (speedups ${t.speedups.map((s) => `${s.toFixed(2)}x`).join(', ')})` : ''}`,
  );
  return [
    `FlatOps on device-resident vectors, ${r.config.device}${r.torch ? `; PyTorch ${r.torch.torch} (CUDA ${r.torch.cuda}) in the same run` : ''}. GB/s counts the bytes each op must move; "of copy" divides by a device-to-device copy of the same N in the same run. Reductions return a number to JavaScript, so their time includes the read-back and the stream's synchronisation.`,
    '',
    table,
    '',
    vsTorch,
    '',
    'Targets:',
    '',
    ...targets,
    '',
    provenance(r),
  ].join('\n');
}

export interface DeviceCheckResult extends ResultBase {
  ok: boolean;
  problems: string[];
  gpu: string;
  seconds: number;
  sections: { section: string; exit: number; seconds: number; limit: number; skipped?: string }[];
  tests: { pass: number; fail: number; skipped: number } | null;
  opTests: { pass: number; fail: number; skipped: number } | null;
  specs: { backend: string; specs: number; passed: number; failed: number; pending: number } | null;
  parity: {
    steps: number;
    oneStep: { worstWeight: number; firstLoss: number };
    worstLossDifference: number;
    subject: { seconds: number };
    reference: { device: string; seconds: number };
  } | null;
  mnist: {
    accuracy: number;
    samples: number;
    testSamples: number;
    samplesPerSecond: number;
  } | null;
  /** Absent from records made before the CLI section. */
  cliTrain?: {
    backend: string;
    kernels: string;
    accuracy: number;
    testSamples: number;
    samplesPerSecond: number;
  } | null;
}

function renderDeviceCheck(r: DeviceCheckResult): string {
  const sections = markdownTable(
    ['section', 'exit', 'seconds', 'limit'],
    r.sections.map((x) => [
      x.section,
      x.skipped ? `left out: ${x.skipped}` : String(x.exit),
      String(x.seconds),
      String(x.limit),
    ]),
  );
  const counts = (c: { pass: number; fail: number; skipped: number } | null) =>
    c ? `${c.pass} passed, ${c.fail} failed, ${c.skipped} skipped` : 'not run';
  const lines = [
    `- GPU: ${r.gpu}. Verdict: **${r.ok ? 'ok' : 'FAILED'}**${r.problems.length ? ` (${r.problems.join('; ')})` : ''}, ${r.seconds} s of sections.`,
    `- FlatOps kernel tests on cuda (ANNEAL_REQUIRE_CUDA=1): ${counts(r.tests)}.`,
    `- The CUDA device's op tests against tfjs-backend-cpu: ${counts(r.opTests)}.`,
    r.specs
      ? `- tfjs-core's spec suite on ${r.specs.backend}: ${r.specs.passed} of ${r.specs.specs} passed, ${r.specs.failed} failed, ${r.specs.pending} pending.`
      : '- tfjs-core specs: not run.',
    r.parity
      ? `- Parity with ${r.parity.reference.device}, the seeded CNN from the same weights: one step within ${r.parity.oneStep.worstWeight.toExponential(1)} (weights), ${r.parity.steps} steps within ${(100 * r.parity.worstLossDifference).toFixed(3)}% (loss); ${r.parity.subject.seconds.toFixed(1)} s vs ${r.parity.reference.seconds.toFixed(1)} s.`
      : '- Parity: not run.',
    r.mnist
      ? `- One MNIST epoch of the CNN (${r.mnist.samples.toLocaleString('en-US')} samples): test accuracy ${(100 * r.mnist.accuracy).toFixed(2)}% on ${r.mnist.testSamples.toLocaleString('en-US')}, ${Math.round(r.mnist.samplesPerSecond).toLocaleString('en-US')} samples/s training.`
      : '- MNIST epoch: not run.',
    ...(r.cliTrain
      ? [
          `- \`anneal train --data mnist --backend auto\` (the CLI, defaults, nan guard on): trained on ${r.cliTrain.backend} with ${r.cliTrain.kernels} kernels, test accuracy ${(100 * r.cliTrain.accuracy).toFixed(2)}% on ${r.cliTrain.testSamples.toLocaleString('en-US')}, ${Math.round(r.cliTrain.samplesPerSecond).toLocaleString('en-US')} samples/s.`,
        ]
      : []),
  ];
  return [...lines, '', sections, '', provenance(r)].join('\n');
}

export const renderers: Record<string, Renderer> = {
  'device-check': renderDeviceCheck,
  'cuda-backend': renderCudaBackend,
  // The same bench in the same device run, with cuDNN left out (ANNEAL_CUDNN=0 then).
  'cuda-backend-im2col': renderCudaBackend,
  'cuda-kernels': renderCudaKernels,
};

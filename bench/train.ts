/**
 * Training throughput: anneal's Trainer (AdamW, one fused kernel call per step) against tfjs's
 * own `model.fit` with `tf.train.adam`, on the same model, MNIST samples, batch size and tfjs
 * backend, in one run; plus where a Trainer step's time goes outside tfjs's forward/backward.
 * Both on wasm (with anneal's gradient kernels for both) and on anneal-cpu (anneal's own backend,
 * when it is built), so the Trainer's samples/s on each backend come from the same run.
 *
 * - Samples/s: wall time of one epoch over the same samples, after a warm-up; `reps` epochs
 *   alternating which side goes first (the machine is shared), median reported.
 * - Overhead: the Trainer's gradient gather (ParamVector.setGrads), fused step (optimizer.step)
 *   and write-back (ParamVector.writeBack) are timed inside the timed epochs, as a fraction of
 *   the mean step. So is the forward+backward (BATCH_START to AFTER_BACKWARD, less the gather:
 *   tf.variableGrads and the loss read back); the rest of a step (loader gather, batch tensors,
 *   train accuracy, events) is step - forward/backward - the three parts.
 *
 * Goals (issue 4): ratio Trainer/fit >= 1.0 and overhead (gather + step + write-back) < 5% of a
 * CNN step. Usage: npm run bench:train [-- --smoke]
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { loadDataset, type Dataset } from '../src/data/index.js';
import { hostDeviceProblem } from '../src/backend/index.js';
import { resolveThreads } from '../src/machine.js';
import { initEngine } from '../src/engine/index.js';
import { createFlatOps } from '../src/kernels/index.js';
import { createModel, type ModelName } from '../src/models/index.js';
import { Event } from '../src/train/events.js';
import { crossEntropy } from '../src/train/loss.js';
import type { Callback } from '../src/train/method.js';
import { Trainer } from '../src/train/trainer.js';
import { writeResult } from './lib/results.js';

const smoke = process.argv.includes('--smoke');
const config = {
  models: ['mlp', 'cnn'] as const,
  backends: ['wasm', 'anneal-cpu'] as const,
  kernels: 'wasm' as const,
  batchSize: 64,
  /** Samples of one timed epoch, per model. */
  samples: smoke ? { mlp: 256, cnn: 128 } : { mlp: 8192, cnn: 3072 },
  reps: smoke ? 1 : 3,
  warmupSteps: 2,
  lr: 1e-3,
  seed: 0,
};

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};

function buildModel(name: ModelName, data: Dataset): tfl.LayersModel {
  return createModel(name, {
    inputShape: data.shape,
    numClasses: data.numClasses,
    seed: config.seed,
  });
}

/** Milliseconds spent in a method of `target`, summed over calls (wraps it in place). */
function timeMethod<T extends object>(target: T, key: keyof T & string): { ms: number } {
  const total = { ms: 0 };
  const original = (target[key] as (...args: unknown[]) => unknown).bind(target);
  (target as Record<string, unknown>)[key] = (...args: unknown[]) => {
    const t0 = performance.now();
    try {
      return original(...args);
    } finally {
      total.ms += performance.now() - t0;
    }
  };
  return total;
}

interface TrainerSide {
  run(): Promise<number>;
  /** Summed over the timed epochs. */
  totals: { forwardBackward: Total; gather: Total; step: Total; writeBack: Total };
  steps: number;
  params: number;
  dispose(): void;
}

interface Total {
  ms: number;
}

/**
 * Times BATCH_START -> AFTER_BACKWARD of every step: the forward, loss, backward and loss read
 * back inside tf.variableGrads, plus the gradient gather (subtracted by the caller).
 */
function forwardBackwardProbe(): { total: Total; callback: Callback } {
  const total = { ms: 0 };
  let started = 0;
  const callback: Callback = {
    onEvent(event) {
      if (event === Event.BATCH_START) started = performance.now();
      if (event === Event.AFTER_BACKWARD) total.ms += performance.now() - started;
    },
  };
  return { total, callback };
}

async function trainerSide(name: ModelName, data: Dataset): Promise<TrainerSide> {
  const stepsPerEpoch = Math.ceil(data.length / config.batchSize);
  const ops = createFlatOps(config.kernels);
  const probe = forwardBackwardProbe();
  const trainer = new Trainer({
    model: buildModel(name, data),
    trainData: data,
    maxDuration: `${config.warmupSteps + config.reps * stepsPerEpoch}ba`,
    batchSize: config.batchSize,
    seed: config.seed,
    kernels: ops,
    optimizer: { name: 'adamw', lr: config.lr },
    callbacks: [probe.callback],
  });
  await trainer.fit({ duration: `${config.warmupSteps}ba` });
  probe.total.ms = 0;
  const totals = {
    forwardBackward: probe.total,
    gather: timeMethod(trainer.state.pv, 'setGrads'),
    step: timeMethod(trainer.state.optimizer, 'step'),
    writeBack: timeMethod(trainer.state.pv, 'writeBack'),
  };
  const side: TrainerSide = {
    totals,
    steps: 0,
    params: trainer.state.pv.length,
    async run() {
      const t0 = performance.now();
      await trainer.fit({ duration: `${stepsPerEpoch}ba` });
      side.steps += stepsPerEpoch;
      return performance.now() - t0;
    },
    dispose() {
      trainer.dispose();
      (trainer.state.model as tfl.LayersModel).dispose();
      ops.dispose();
    },
  };
  return side;
}

async function fitSide(name: ModelName, data: Dataset) {
  const model = buildModel(name, data);
  const optimizer = tf.train.adam(config.lr);
  model.compile({ optimizer, loss: crossEntropy, metrics: ['acc'] });
  const xs = tf.tensor(data.images, [data.length, ...data.shape]);
  const ys = tf.oneHot(tf.tensor1d(data.labels, 'int32'), data.numClasses);
  const options = { batchSize: config.batchSize, epochs: 1, shuffle: true, verbose: 0 as const };
  const warm = config.warmupSteps * config.batchSize;
  const [xWarm, yWarm] = [tf.slice(xs, 0, warm), tf.slice(ys, 0, warm)];
  await model.fit(xWarm, yWarm, options);
  return {
    async run() {
      const t0 = performance.now();
      await model.fit(xs, ys, options);
      return performance.now() - t0;
    },
    dispose() {
      tf.dispose([xs, ys, xWarm, yWarm]);
      model.dispose();
      optimizer.dispose();
    },
  };
}

interface Row {
  backend: TfBackend;
  model: ModelName;
  params: number;
  samples: number;
  trainerSamplesPerSec: number;
  fitSamplesPerSec: number;
  ratio: number;
  /** Mean over the timed epochs. */
  trainerStepMs: number;
  fitStepMs: number;
  /** Forward, loss, backward and loss read back, inside the Trainer's steps. */
  forwardBackwardMs: number;
  /** Mean ms per step of each Trainer part. */
  gatherMs: number;
  fusedStepMs: number;
  writeBackMs: number;
  /** (gather + fused step + write-back) / Trainer step. */
  overheadFraction: number;
  /** (Trainer step - forward/backward - the three parts) / Trainer step. */
  restFraction: number;
  epochMs: { trainer: number[]; fit: number[] };
}

type TfBackend = (typeof config.backends)[number];

async function measure(name: (typeof config.models)[number], backend: TfBackend): Promise<Row> {
  const samples = config.samples[name];
  const data = await loadDataset('mnist', { split: 'train', limit: samples });
  const trainer = await trainerSide(name, data);
  const fit = await fitSide(name, data);
  const epochMs = { trainer: [] as number[], fit: [] as number[] };
  for (let rep = 0; rep < config.reps; rep++) {
    if (rep % 2 === 0) {
      epochMs.trainer.push(await trainer.run());
      epochMs.fit.push(await fit.run());
    } else {
      epochMs.fit.push(await fit.run());
      epochMs.trainer.push(await trainer.run());
    }
  }
  const steps = trainer.steps;
  const perStep = (total: Total) => total.ms / steps;
  const stepsPerEpoch = Math.ceil(samples / config.batchSize);
  // The parts are summed over every timed epoch: compare them with the mean step.
  const meanStepMs = epochMs.trainer.reduce((a, b) => a + b, 0) / steps;
  const parts = {
    gatherMs: perStep(trainer.totals.gather),
    fusedStepMs: perStep(trainer.totals.step),
    writeBackMs: perStep(trainer.totals.writeBack),
  };
  const forwardBackwardMs = perStep(trainer.totals.forwardBackward) - parts.gatherMs;
  const overheadMs = parts.gatherMs + parts.fusedStepMs + parts.writeBackMs;
  const row: Row = {
    backend,
    model: name,
    params: trainer.params,
    samples,
    trainerSamplesPerSec: samples / (median(epochMs.trainer) / 1000),
    fitSamplesPerSec: samples / (median(epochMs.fit) / 1000),
    ratio: median(epochMs.fit) / median(epochMs.trainer),
    trainerStepMs: meanStepMs,
    fitStepMs: median(epochMs.fit) / stepsPerEpoch,
    forwardBackwardMs,
    ...parts,
    overheadFraction: overheadMs / meanStepMs,
    restFraction: (meanStepMs - forwardBackwardMs - overheadMs) / meanStepMs,
    epochMs,
  };
  trainer.dispose();
  fit.dispose();
  return row;
}

const rows: Row[] = [];
const skipped: string[] = [];
for (const backend of config.backends) {
  const problem = backend === 'anneal-cpu' ? hostDeviceProblem() : null;
  if (problem) {
    skipped.push(`${backend}: ${problem}`);
    continue;
  }
  await initEngine({ backend });
  for (const name of config.models) rows.push(await measure(name, backend));
}

const cnn = rows.find((r) => r.model === 'cnn' && r.backend === 'wasm');
const cnnNative = rows.find((r) => r.model === 'cnn' && r.backend === 'anneal-cpu');
const speedup = cnn && cnnNative && cnnNative.trainerSamplesPerSec / cnn.trainerSamplesPerSec;
const targets = cnn && {
  cnnRatio: { value: Number(cnn.ratio.toFixed(3)), target: 1, met: cnn.ratio >= 1 },
  cnnOverhead: {
    value: Number(cnn.overheadFraction.toFixed(4)),
    target: 0.05,
    met: cnn.overheadFraction < 0.05,
  },
  ...(speedup && {
    cnnAnnealCpuSpeedup: { value: Number(speedup.toFixed(3)), target: 4, met: speedup >= 4 },
  }),
};

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
console.log(
  `Trainer (AdamW, ${config.kernels} kernels) vs tfjs model.fit (tf.train.adam), ` +
    `batch ${config.batchSize}, median of ${config.reps} epochs`,
);
const header = [
  'backend',
  'model',
  'params',
  'Trainer sp/s',
  'fit sp/s',
  'ratio',
  'step ms',
  'fwd+bwd ms',
];
const header2 = ['gather ms', 'fused ms', 'writeBack ms', 'overhead', 'rest'];
console.log([...header, ...header2].map((h) => h.padStart(13)).join(''));
for (const r of rows) {
  console.log(
    [
      r.backend,
      r.model,
      r.params.toLocaleString('en'),
      r.trainerSamplesPerSec.toFixed(0),
      r.fitSamplesPerSec.toFixed(0),
      r.ratio.toFixed(2),
      r.trainerStepMs.toFixed(2),
      r.forwardBackwardMs.toFixed(2),
      r.gatherMs.toFixed(3),
      r.fusedStepMs.toFixed(3),
      r.writeBackMs.toFixed(3),
      pct(r.overheadFraction),
      pct(r.restFraction),
    ]
      .map((v) => v.padStart(13))
      .join(''),
  );
}
for (const line of skipped) console.log(`not measured: ${line}`);
const result = {
  config: { ...config, tfjs: tf.version_core, threads: resolveThreads() },
  targets,
  skipped,
  rows,
};
console.log(JSON.stringify({ bench: 'train', smoke, targets }));
console.log(`wrote ${writeResult('train', result, { smoke })}`);

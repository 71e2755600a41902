/**
 * Training-step time of an MLP, a small CNN and a tiny ViT (patchify stem, LayerNorms) on tfjs's
 * wasm and cpu backends, with tfjs's
 * stock gradient kernels against anneal's (src/engine/gradients.ts), in one run. The forward
 * pass alone is timed as the reference a training step is judged by (a step cannot cost less
 * than the forward pass; about 3x is what forward + two backward products take).
 *
 * Timing: a warm-up step, then steps until `samples` are taken or `budgetMs` has passed (at
 * least one); the median is reported. benchmark.js is not used because it takes at least ~6
 * calls per case, and the stock cpu CNN step takes tens of seconds. Each step is one
 * optimizer.minimize (forward, loss, backward, SGD update) followed by reading the loss.
 *
 * Usage: npm run bench:engine [-- --smoke]
 */
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../src/engine/index.js';
import { median } from '../src/stats.js';
import {
  BENCH_MODELS,
  INPUT_SHAPE,
  NUM_CLASSES,
  trainingStep,
  type BenchModel,
} from './lib/models.js';
import { writeResult } from './lib/results.js';
import { sampleTimes } from './lib/timing.js';

const smoke = process.argv.includes('--smoke');
const config = {
  batch: smoke ? 8 : 64,
  samples: smoke ? 1 : 10,
  budgetMs: smoke ? 2_000 : 20_000,
  inputShape: INPUT_SHAPE,
  numClasses: NUM_CLASSES,
  learningRate: 0.01,
};

interface Timing {
  medianMs: number;
  samples: number;
}

/** The median of `run`'s times (bench/lib/timing.ts's sampleTimes). */
function time(run: () => void): Timing {
  const times = sampleTimes(run, config);
  return { medianMs: median(times), samples: times.length };
}

interface Cell {
  model: BenchModel;
  backend: 'wasm' | 'cpu';
  stockMs: number | null;
  stockError?: string;
  oursMs: number;
  speedup: number | null;
  forwardMs: number;
  samples: { stock: number; ours: number; forward: number };
}

async function measure(modelName: BenchModel, backend: 'wasm' | 'cpu'): Promise<Cell> {
  await initEngine({ backend });
  const x = tf.randomNormal([config.batch, ...config.inputShape], 0, 1, 'float32', 1);
  const labels = tf.oneHot(
    tf.randomUniform([config.batch], 0, config.numClasses, 'int32', 2),
    config.numClasses,
  );

  const timeSteps = async (fast: boolean): Promise<Timing> => {
    await initEngine({ backend, fastGradients: fast });
    const model = BENCH_MODELS[modelName]();
    const optimizer = tf.train.sgd(config.learningRate);
    try {
      return time(() => trainingStep(model, optimizer, x, labels));
    } finally {
      optimizer.dispose();
      model.dispose();
    }
  };

  const model = BENCH_MODELS[modelName]();
  const forward = time(() => {
    const y = model.predict(x) as tf.Tensor;
    y.dataSync();
    y.dispose();
  });
  model.dispose();

  const ours = await timeSteps(true);
  let stock: Timing | null = null;
  let stockError: string | undefined;
  try {
    stock = await timeSteps(false);
  } catch (e) {
    // Stock wasm has no Conv2DBackpropFilter: a CNN cannot train there without our kernels.
    if (!/not registered/.test(String(e))) throw e;
    stockError = 'missing kernel';
  }
  await initEngine({ backend }); // leave the fast kernels on for the next cell
  tf.dispose([x, labels]);
  return {
    model: modelName,
    backend,
    stockMs: stock?.medianMs ?? null,
    ...(stockError ? { stockError } : {}),
    oursMs: ours.medianMs,
    speedup: stock ? stock.medianMs / ours.medianMs : null,
    forwardMs: forward.medianMs,
    samples: { stock: stock?.samples ?? 0, ours: ours.samples, forward: forward.samples },
  };
}

const cells: Cell[] = [];
for (const backend of ['wasm', 'cpu'] as const) {
  for (const model of ['mlp', 'cnn', 'vit'] as const) {
    cells.push(await measure(model, backend));
  }
}

const fmt = (ms: number | null) => (ms === null ? '' : ms.toFixed(1));
console.log(`tfjs training step, batch ${config.batch}, ms (median; forward = forward pass only)`);
console.log(
  ['model', 'backend', 'stock', 'ours', 'speedup', 'forward', 'ours/forward']
    .map((h) => h.padStart(15))
    .join(''),
);
for (const c of cells) {
  console.log(
    [
      c.model,
      c.backend,
      c.stockError ?? fmt(c.stockMs),
      fmt(c.oursMs),
      c.speedup === null ? '-' : `${c.speedup.toFixed(1)}x`,
      fmt(c.forwardMs),
      `${(c.oursMs / c.forwardMs).toFixed(1)}x`,
    ]
      .map((v) => v.padStart(15))
      .join(''),
  );
}

const wasmFlags = {
  simd: await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'),
  threads: await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'),
};
const result = { config: { ...config, wasm: wasmFlags, tfjs: tf.version_core }, results: cells };
console.log(JSON.stringify({ bench: 'engine', ...result }));
console.log(`wrote ${writeResult('engine', result, { smoke })}`);

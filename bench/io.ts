/**
 * A user's model through anneal: an MLP (784-256-128-10, ending in softmax) built with plain
 * tfjs-layers and saved by tfjs's own saver (tf.io.withSaveHandler, laid out as tfjs-node writes
 * it), then trained with `anneal train --model model.json` on full MNIST. The check: >= 97% test
 * accuracy. The whole check takes about 14 s on anneal-cpu and 26 s on wasm (2 cores), so
 * `--smoke` (CI) runs it unchanged. Prints a line and a JSON line; writes nothing to
 * bench/results. Exits 1 when the goal is not met.
 *
 * Usage: npm run bench:io [-- --smoke]
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { main } from '../src/cli/program.js';
import { initEngine } from '../src/engine/index.js';

const smoke = process.argv.includes('--smoke');
const GOAL = 0.97;

// Small enough to be its own smoke run: CI checks the goal every time.
const config = {
  data: 'mnist',
  trainSamples: 60000,
  testSamples: 10000,
  epochs: 4,
  batchSize: 64,
  optimizer: 'adamw',
  schedule: 'cosine',
  seed: 0,
};

/** model.json + weights.bin as tfjs-node's file handler writes them, from tfjs's artifacts. */
async function saveWithTfjs(model: tfl.LayersModel, dir: string): Promise<string> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(a) };
    }),
  );
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'weights.bin'),
    new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts!.weightData)),
  );
  const json = {
    modelTopology: artifacts!.modelTopology,
    format: artifacts!.format,
    generatedBy: artifacts!.generatedBy,
    convertedBy: artifacts!.convertedBy,
    weightsManifest: [{ paths: ['weights.bin'], weights: artifacts!.weightSpecs }],
  };
  writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
  return join(dir, 'model.json');
}

const work = mkdtempSync(join(tmpdir(), 'anneal-bench-io-'));
try {
  await initEngine();
  const mlp = tfl.sequential({
    layers: [
      tfl.layers.flatten({ inputShape: [28, 28, 1] }),
      tfl.layers.dense({ units: 256, activation: 'relu' }),
      tfl.layers.dense({ units: 128, activation: 'relu' }),
      tfl.layers.dense({ units: 10, activation: 'softmax' }),
    ],
  });
  const path = await saveWithTfjs(mlp, join(work, 'user-mlp'));
  const out = join(work, 'run');
  const started = performance.now();
  const code = await main([
    'train',
    ...['--data', config.data, '--model', path],
    ...['--limit', String(config.trainSamples), '--test-limit', String(config.testSamples)],
    ...['--epochs', String(config.epochs), '--batch-size', String(config.batchSize)],
    ...[
      '--optimizer',
      config.optimizer,
      '--schedule',
      config.schedule,
      '--seed',
      String(config.seed),
    ],
    ...['--no-progress', '--out', out],
  ]);
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`anneal train exited ${code}`);
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  const accuracy: number = summary.test.accuracy;
  const passed = accuracy >= GOAL;
  console.log(
    `\nbench:io: tfjs-saved MLP via anneal train --model, ${config.trainSamples} train / ` +
      `${config.testSamples} test, ${config.epochs} epoch(s): test accuracy ${(accuracy * 100).toFixed(2)}% ` +
      `(goal >= ${GOAL * 100}%: ${passed ? 'met' : 'NOT met'}), ` +
      `${summary.trainSeconds.toFixed(1)} s training, ${seconds.toFixed(1)} s in all, ` +
      `${summary.backend} backend, ${summary.kernels} kernels`,
  );
  console.log(JSON.stringify({ bench: 'io', smoke, config, accuracy, seconds, summary }));
  if (!passed) process.exitCode = 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}

/**
 * The ViT stem study (Xiao et al. 2021, "Early Convolutions Help Transformers See Better"): a
 * tiny ViT with the original patchify stem vs. a convolutional stem, trained on MNIST under
 * AdamW and under SGD with momentum, over a small learning-rate sweep and two schedule lengths.
 * The paper's claim: the conv stem is less sensitive to the optimizer and the learning rate.
 * Sensitivity here: the spread (max - min) of final accuracy over each optimizer's lr sweep, and
 * the gap between the best AdamW and the best SGD run.
 *
 * Budget: 2,000 training samples, 1,000 test samples, 2 stems x 2 optimizers x 3 lrs x
 * (3 + 10 epochs), one seed (measured minutes in the JSON; the engine's Tile and patch-conv
 * gradients made the ViT step ~15x faster on wasm, which is what makes 10 epochs affordable). Usage: npm run bench:vit-stem [-- --smoke]
 */
import { loadDataset } from '../src/data/index.js';
import { initEngine } from '../src/engine/index.js';
import { createModel } from '../src/models/index.js';
import { evaluate } from '../src/train/evaluate.js';
import { Trainer } from '../src/train/trainer.js';
import { writeResult } from './lib/results.js';

const smoke = process.argv.includes('--smoke');

const STEMS = ['patchify', 'conv'] as const;
/** Each optimizer's sweep: centred on its usual learning rate, x3 either side. */
const SWEEPS = {
  adamw: smoke ? [1e-3] : [3e-4, 1e-3, 3e-3],
  momentum: smoke ? [3e-2] : [1e-2, 3e-2, 1e-1],
} as const;
const LENGTHS = smoke ? [1] : [3, 10];
const TRAIN = smoke ? 128 : 2000;
const TEST = smoke ? 64 : 1000;
const SEED = 0;
const BATCH = 64;

export interface VitStemRow {
  stem: (typeof STEMS)[number];
  optimizer: keyof typeof SWEEPS;
  lr: number;
  epochs: number;
  accuracy: number;
  loss: number;
  trainSeconds: number;
  params: number;
}

async function main(): Promise<void> {
  const started = performance.now();
  const engine = await initEngine({ backend: 'auto' });
  const train = await loadDataset('mnist', { split: 'train', limit: TRAIN });
  const test = await loadDataset('mnist', { split: 'test', limit: TEST });
  const rows: VitStemRow[] = [];
  for (const epochs of LENGTHS) {
    for (const stem of STEMS) {
      for (const optimizer of Object.keys(SWEEPS) as (keyof typeof SWEEPS)[]) {
        for (const lr of SWEEPS[optimizer]) {
          const model = createModel('vit', {
            inputShape: train.shape,
            numClasses: train.numClasses,
            seed: SEED + 1,
            stem,
          });
          const trainer = new Trainer({
            model,
            trainData: train,
            maxDuration: `${epochs}ep`,
            batchSize: BATCH,
            seed: SEED,
            optimizer: { name: optimizer, lr },
            // The same schedule for both: 10% linear warmup, then cosine to zero.
            schedules: { lr: { name: 'cosine', warmup: '0.1dur' } },
          });
          try {
            const fit = await trainer.fit();
            const result = await evaluate(trainer.state.model, test);
            const row: VitStemRow = {
              stem,
              optimizer,
              lr,
              epochs,
              accuracy: result.accuracy,
              loss: result.loss,
              trainSeconds: fit.timestamp.trainSeconds,
              params: trainer.state.pv.length,
            };
            rows.push(row);
            console.log(
              `${epochs} ep ${stem.padEnd(8)} ${optimizer.padEnd(8)} lr ${lr}: accuracy ` +
                `${row.accuracy.toFixed(4)} (${row.trainSeconds.toFixed(1)} s)`,
            );
          } finally {
            trainer.dispose();
            model.dispose();
          }
        }
      }
    }
  }
  const minutes = (performance.now() - started) / 60000;
  writeResult(
    'vit-stem',
    {
      config: {
        data: 'mnist',
        trainSamples: TRAIN,
        testSamples: TEST,
        batchSize: BATCH,
        seed: SEED,
        sweeps: SWEEPS,
        lengths: LENGTHS,
        schedule: 'cosine with 10% linear warmup',
        tfjsBackend: engine.backend,
      },
      minutes,
      rows,
    },
    { smoke },
  );
  console.log(`bench:vit-stem done in ${minutes.toFixed(1)} min`);
}

await main();

/** `anneal train`: trains a model on a dataset and writes a run directory. */
import { loadDataset } from '../data/index.js';
import { initEngine, type TfBackendName } from '../engine/index.js';
import { createModel } from '../models/index.js';
import { JsonlLog } from '../report/jsonl.js';
import { saveCheckpoint } from '../train/checkpoint.js';
import { fit, modelCheckpoint } from '../train/fit.js';
import { openRunDir, writeJsonAtomic } from '../train/run-dir.js';
import { createProgress } from './progress.js';

export interface TrainCommandOptions {
  data: string;
  dataDir?: string;
  model: string;
  epochs: number;
  batchSize: number;
  lr: number;
  seed: number;
  backend: 'auto' | TfBackendName;
  limit?: number;
  testLimit?: number;
  out: string;
  overwrite: boolean;
  progress: boolean;
}

export async function trainCommand(opts: TrainCommandOptions): Promise<void> {
  // Check everything a user can get wrong before creating the run directory.
  const engine = await initEngine({ backend: opts.backend });
  const train = await loadDataset(opts.data, {
    split: 'train',
    dataDir: opts.dataDir,
    limit: opts.limit,
    seed: opts.seed,
  });
  const test = await loadDataset(opts.data, {
    split: 'test',
    dataDir: opts.dataDir,
    limit: opts.testLimit,
    seed: opts.seed + 1,
  });
  const model = createModel(opts.model, {
    inputShape: train.shape,
    numClasses: train.numClasses,
    seed: opts.seed,
  });

  const run = openRunDir(opts.out, { overwrite: opts.overwrite });
  const config = {
    ...opts,
    backend: engine.backend,
    fastGradients: engine.fastGradients,
    params: model.countParams(),
  };
  writeJsonAtomic(run.configPath, config);
  const log = new JsonlLog(run.logPath);
  log.write({
    event: 'fit_start',
    ...config,
    trainSamples: train.length,
    testSamples: test.length,
  });
  console.log(
    `anneal: training ${opts.model} (${model.countParams().toLocaleString('en')} parameters) on ${opts.data} ` +
      `(${train.length} train / ${test.length} test) with tfjs backend ${engine.backend}`,
  );

  const totalBatches = opts.epochs * Math.ceil(train.length / opts.batchSize);
  const progress = createProgress(totalBatches, 'train', opts.progress);
  const result = await fit(model, train, {
    epochs: opts.epochs,
    batchSize: opts.batchSize,
    lr: opts.lr,
    seed: opts.seed,
    evalData: test,
    onBatchEnd: (b) => {
      progress.update(b.step, { loss: b.loss.toFixed(4) });
      if (b.step % 50 === 0) log.write({ event: 'batch_end', ...b });
    },
    onEpochEnd: (e) => {
      log.write({ event: 'epoch_end', ...e });
      progress.stop();
      const acc = e.eval ? ` test accuracy ${e.eval.accuracy.toFixed(4)}` : '';
      console.log(
        `epoch ${e.epoch + 1}/${opts.epochs}: train loss ${e.trainLoss.toFixed(4)}${acc} (${e.trainSeconds.toFixed(1)} s)`,
      );
    },
  });
  progress.stop();

  saveCheckpoint(
    run.checkpointPath,
    modelCheckpoint(model, { model: opts.model, data: opts.data, steps: result.steps }),
  );
  const summary = {
    model: opts.model,
    data: opts.data,
    backend: engine.backend,
    params: model.countParams(),
    steps: result.steps,
    samples: result.samples,
    trainSeconds: result.trainSeconds,
    samplesPerSecond: result.samples / result.trainSeconds,
    test: result.final,
  };
  writeJsonAtomic(run.summaryPath, summary);
  log.write({ event: 'fit_end', ...summary });
  console.log(`run directory: ${run.path}`);
  console.log(`test accuracy: ${result.final!.accuracy.toFixed(4)}`);
}

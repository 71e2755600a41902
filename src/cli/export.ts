/**
 * `anneal export RUN_OR_CHECKPOINT --out DIR`: a trained model out of anneal, in TensorFlow.js's
 * own format (model.json and weight shards, src/io), for tf.loadLayersModel in a browser, in
 * tfjs-node or anywhere else. Training-only parts (ALASCA's auxiliary heads) are taken off;
 * beside the model go `anneal.json` (classes, input normalisation, the recipe, test accuracy,
 * "outputs": "logits") and `anneal-layers.js`, which registers anneal's custom layers (the ViT's
 * attention and position embedding, BlurPool) with a page's tfjs.
 */
import type { Command } from 'commander';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { createFlatOps, type KernelChoice } from '../kernels/index.js';
import {
  checkModelDir,
  LAYERS_MODULE_FILE,
  LAYERS_MODULE_SOURCE,
  MODULE_LAYER_CLASSES,
  modelFiles,
  writeModelDir,
} from '../io/index.js';
import { stripAuxHeads } from '../methods/alasca/index.js';
import { checkOutDir } from '../runs/outputs.js';
import { loadRunModel, type RunModel } from '../runs/run-model.js';
import { evaluateSync } from '../train/evaluate.js';
import { packageVersion } from '../package-root.js';
import { kernelsOption } from './parse.js';

interface ExportOptions {
  out: string;
  overwrite: boolean;
  kernels?: KernelChoice;
}

export const EXPORT_INFO_FILE = 'anneal.json';

export function addExportCommand(program: Command): Command {
  return program
    .command('export')
    .description(
      "write a run's trained model in TensorFlow.js format (model.json, weight shards), with " +
        'anneal.json (classes, input normalisation, recipe, test accuracy; outputs are logits) ' +
        "and anneal-layers.js (registers anneal's custom layers in a page)",
    )
    .argument('<run-or-checkpoint>', 'a run directory, its checkpoints/ directory or a .ck file')
    .requiredOption('--out <dir>', 'directory to write (new or empty)')
    .option('--overwrite', 'replace a directory an earlier `anneal export` wrote', false)
    .addOption(kernelsOption())
    .action(exportCommand);
}

/** The model for inference: training-only layers (ALASCA's heads) taken off. */
export function inferenceModel(model: tfl.LayersModel): tfl.LayersModel {
  const stripped = stripAuxHeads(model);
  const left = stripped.layers.filter((l) => (l as { trainingOnly?: boolean }).trainingOnly);
  if (left.length > 0) {
    // A new training-only layer that export does not know how to take off yet: a bug.
    throw new Error(
      `export: training-only layers ${left.map((l) => l.name).join(', ')} left in the model`,
    );
  }
  return stripped;
}

async function artifactsOf(model: tfl.LayersModel): Promise<tf.io.ModelArtifacts> {
  let captured: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      captured = artifacts;
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }),
  );
  return captured!;
}

export async function exportCommand(source: string, opts: ExportOptions): Promise<void> {
  // The output is checked before the run is read: a bad --out fails in one line at once.
  checkOutDir(opts.out);
  checkModelDir(opts.out, { writer: 'export', overwrite: opts.overwrite, label: '--out' });
  const ops = createFlatOps(opts.kernels);
  let run: RunModel | null = null;
  try {
    run = await loadRunModel(source, ops);
    const model = inferenceModel(run.model);
    const { test, recipe } = run;
    const evaluation = evaluateSync(model, test);
    const custom = [...new Set(model.layers.map((l) => l.getClassName()))].filter((c) =>
      (MODULE_LAYER_CLASSES as readonly string[]).includes(c),
    );
    const info = {
      format: 'anneal-export',
      version: 1,
      model: recipe.model.path ?? recipe.model.name,
      params: model.countParams(),
      outputs: 'logits',
      classes: test.classNames ?? Array.from({ length: test.numClasses }, (_, i) => String(i)),
      input: {
        shape: test.shape,
        layout: test.shape.length === 3 ? 'NHWC' : 'features',
        // What the model was trained on: (pixel / 255 - mean[c]) / std[c] per channel.
        normalization: test.normalization ?? null,
        formula:
          test.normalization === undefined
            ? 'the data set made its values (synthetic)'
            : test.normalization === null
              ? 'pixel / 255'
              : test.normalization.scale === 1
                ? // csv features: standardised as read, with no /255 (src/data/user-data.ts).
                  '(feature[f] - mean[f]) / std[f]'
                : '(pixel / 255 - mean[c]) / std[c]',
      },
      test: { accuracy: evaluation.accuracy, loss: evaluation.loss, samples: test.length },
      customLayers: custom,
      layersModule: LAYERS_MODULE_FILE,
      checkpoint: run.weights.source,
      recipe,
      anneal: packageVersion(),
      exported: new Date().toISOString(),
    };
    const files = modelFiles(await artifactsOf(model));
    files.set(EXPORT_INFO_FILE, JSON.stringify(info, null, 2) + '\n');
    files.set(LAYERS_MODULE_FILE, LAYERS_MODULE_SOURCE);
    writeModelDir(opts.out, files, { writer: 'export', overwrite: opts.overwrite, label: '--out' });
    const shards = [...files.keys()].filter((f) => f.endsWith('.bin')).length;
    console.log(
      `anneal: exported ${info.model} (${info.params.toLocaleString('en')} parameters, test accuracy ` +
        `${evaluation.accuracy.toFixed(4)} on ${test.length} samples, outputs logits) to ${opts.out}: ` +
        `model.json, ${shards} weight file${shards === 1 ? '' : 's'}, ${EXPORT_INFO_FILE}, ${LAYERS_MODULE_FILE}` +
        (custom.length ? ` (needed: the model uses ${custom.join(', ')})` : ''),
    );
  } finally {
    run?.pv.dispose();
    run?.model.dispose();
    ops.dispose();
  }
}

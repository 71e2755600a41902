/**
 * Models in and out: saveModel and loadModel over the file-system handler, and what training a
 * user's model needs on top of loading it: its final softmax taken off (anneal's losses take
 * logits) and its input shape and class count checked against the data.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { UsageError } from '../errors.js';
// The custom layers of anneal's models (ViT attention, BlurPool) must be registered to load.
import '../models/index.js';
import {
  FileSystemHandler,
  modelJsonPath,
  readModelArtifacts,
  readModelJson,
} from './file-handler.js';

export interface SaveModelOptions {
  /** Replace a model directory anneal wrote before (default false: only a new or empty one). */
  overwrite?: boolean;
}

/** Saves `model` as `dir`/model.json and its weight shards, written as one unit. */
export async function saveModel(
  model: tfl.LayersModel,
  dir: string,
  opts: SaveModelOptions = {},
): Promise<tf.io.SaveResult> {
  return model.save(new FileSystemHandler(dir, { overwrite: opts.overwrite ?? false }));
}

/** Loads a LayersModel from a model.json (or the directory holding it), as it was saved. */
export async function loadModel(path: string): Promise<tfl.LayersModel> {
  const file = modelJsonPath(path);
  checkLayersModel(file, readModelJson(file));
  return layersModelFrom(file, await readModelArtifacts(file));
}

export interface LogitsModel {
  model: tfl.LayersModel;
  /** What was taken off ('the softmax activation of layer dense_2'), if anything. */
  stripped?: string;
}

/**
 * A user's model for training: loaded like loadModel, with a final softmax (a last layer with
 * activation 'softmax', or a Softmax or Activation('softmax') layer at the end) taken off, since
 * anneal's losses take logits.
 */
export async function loadLogitsModel(path: string): Promise<LogitsModel> {
  const file = modelJsonPath(path);
  checkLayersModel(file, readModelJson(file));
  const artifacts = await readModelArtifacts(file);
  const topology = structuredClone(artifacts.modelTopology) as Record<string, unknown>;
  const stripped = stripFinalSoftmax(topology);
  const model = await layersModelFrom(file, { ...artifacts, modelTopology: topology });
  return stripped === undefined ? { model } : { model, stripped };
}

function checkLayersModel(path: string, json: tf.io.ModelJSON): void {
  const topology = kerasConfig(json.modelTopology as Record<string, unknown>);
  if (json.format === 'graph-model' || typeof topology?.class_name !== 'string') {
    throw new UsageError(
      'ANNEAL_NOT_A_LAYERS_MODEL',
      `model ${path} is not a LayersModel (format ${JSON.stringify(json.format ?? null)}): anneal ` +
        'trains tfjs LayersModels (tf.io, or tensorflowjs_converter --output_format tfjs_layers_model); ' +
        'a graph model (SavedModel, frozen graph) cannot be trained',
    );
  }
}

async function layersModelFrom(
  path: string,
  artifacts: tf.io.ModelArtifacts,
): Promise<tfl.LayersModel> {
  try {
    return await tfl.loadLayersModel(tf.io.fromMemory(artifacts));
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(
      'ANNEAL_BAD_MODEL',
      `model ${path} does not load as a tfjs LayersModel: ${(e as Error).message.split('\n')[0]}` +
        ' (custom layers must be registered with tf.serialization.registerClass first)',
    );
  }
}

type Json = Record<string, unknown>;

/** The { class_name, config } of a topology (Keras nests it under model_config). */
function kerasConfig(topology: Json | null | undefined): Json | undefined {
  if (topology == null || typeof topology !== 'object') return undefined;
  return (topology.model_config as Json | undefined) ?? topology;
}

function isSoftmaxLayer(layer: Json): boolean {
  const config = layer.config as Json | undefined;
  return (
    layer.class_name === 'Softmax' ||
    (layer.class_name === 'Activation' && config?.activation === 'softmax')
  );
}

/**
 * Takes a final softmax off a Keras topology in place: a last Softmax/Activation layer is
 * removed (it has no weights) and the model's output moved to its input; a last layer with
 * activation 'softmax' gets 'linear'. Returns what was done, or undefined.
 */
export function stripFinalSoftmax(topology: Json): string | undefined {
  const model = kerasConfig(topology)!;
  const config = model.config as Json | Json[];
  const layers = (Array.isArray(config) ? config : (config.layers as Json[])) ?? [];
  if (layers.length === 0) return undefined;
  let last: Json | undefined;
  if (model.class_name === 'Sequential') {
    last = layers[layers.length - 1];
    if (isSoftmaxLayer(last) && layers.length > 1) {
      layers.pop();
      return `the final ${last.class_name} layer '${String((last.config as Json).name)}'`;
    }
  } else {
    const outputs = (config as Json).output_layers as [string, number, number][] | undefined;
    if (!outputs || outputs.length !== 1) return undefined;
    const [name, nodeIndex] = outputs[0];
    last = layers.find((l) => l.name === name || (l.config as Json)?.name === name);
    if (!last) return undefined;
    if (isSoftmaxLayer(last)) {
      const inbound = (last.inbound_nodes as unknown[][][])[nodeIndex]?.[0];
      if (!inbound) return undefined;
      (config as Json).output_layers = [[inbound[0], inbound[1], inbound[2]]];
      layers.splice(layers.indexOf(last), 1);
      return `the final ${last.class_name} layer '${name}'`;
    }
  }
  const lastConfig = last.config as Json;
  if (lastConfig?.activation === 'softmax') {
    lastConfig.activation = 'linear';
    return `the softmax activation of the last layer '${String(lastConfig.name)}'`;
  }
  return undefined;
}

export interface DataShape {
  /** The data set's name, for messages. */
  name: string;
  shape: readonly number[];
  numClasses: number;
}

/**
 * Checks that a model takes the data's samples and has one output per class; the error names
 * both shapes (or counts) and what to change.
 */
export function checkModelFitsData(model: tfl.LayersModel, source: string, data: DataShape): void {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new UsageError(
      'ANNEAL_MODEL_MISMATCH',
      `model ${source} has ${model.inputs.length} inputs and ${model.outputs.length} outputs; ` +
        'anneal trains classifiers with one input and one output of class scores',
    );
  }
  const input = model.inputs[0].shape.slice(1);
  const fits =
    input.length === data.shape.length && input.every((d, i) => d === null || d === data.shape[i]);
  if (!fits) {
    throw new UsageError(
      'ANNEAL_MODEL_MISMATCH',
      `model ${source} takes inputs of shape ${shapeText(input)}, but ${data.name}'s samples have shape ` +
        `${shapeText(data.shape)}; give the model an input of ${shapeText(data.shape)} ` +
        '(a Flatten or Reshape layer first for a flat model), or train it on data of its shape',
    );
  }
  const output = model.outputs[0].shape;
  const classes = output[output.length - 1];
  if (output.length !== 2 || classes !== data.numClasses) {
    throw new UsageError(
      'ANNEAL_MODEL_MISMATCH',
      `model ${source} outputs shape ${shapeText(output.slice(1))} (${classes ?? '?'} classes), but ` +
        `${data.name} has ${data.numClasses} classes; give the model a last layer of ` +
        `${data.numClasses} units, or train it on data with ${classes ?? '?'} classes`,
    );
  }
}

function shapeText(shape: readonly (number | null)[]): string {
  return `[${shape.map((d) => (d === null ? '?' : String(d))).join(', ')}]`;
}

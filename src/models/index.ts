/**
 * Model zoo: every factory returns an uncompiled tfl.LayersModel whose output is LOGITS
 * (no softmax layer; losses apply softmax themselves). See README.md for the architectures and
 * their parameter counts.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { UsageError } from '../errors.js';
import { checkKnownKeys, optionKeys, type OptionKeys } from '../options.js';
import { cnn } from './cnn.js';
import type { BaseModelOptions } from './init.js';
import { mlp } from './mlp.js';
import { resnet } from './resnet.js';
import { vit } from './vit.js';

export type ModelName = 'mlp' | 'cnn' | 'resnet' | 'vit';

export interface ModelOptions extends Omit<BaseModelOptions, 'inputShape'> {
  /** Height, width, channels of one input image; [features] for rows of numbers (mlp only). */
  inputShape: [number, number, number] | [number];
  numClasses: number;
  /** Makes the initial weights deterministic. */
  seed?: number;
}

type Factory = (opts: ModelOptions & Record<string, unknown>) => tfl.LayersModel;

interface ModelEntry {
  readonly factory: Factory;
  /** Every option the factory takes (ModelOptions' and its own); any other is an error. */
  readonly keys: readonly string[];
}

/** The options every model takes, each marked `true` (see OptionKeys). */
const BASE_KEYS = { inputShape: true, numClasses: true, seed: true } as const;

/**
 * A model's entry; `keys` is typed from the factory's options, so the compiler refuses a list
 * that misses an option or names one the factory does not take.
 */
function model<O extends Omit<BaseModelOptions, 'inputShape'>>(
  factory: (opts: O) => tfl.LayersModel,
  keys: string extends keyof O ? never : OptionKeys<O>,
): ModelEntry {
  return Object.freeze({
    factory: factory as unknown as Factory,
    keys: optionKeys<O>(keys),
  });
}

const MODELS: Record<ModelName, ModelEntry> = {
  mlp: model(mlp, { ...BASE_KEYS, hidden: true }),
  cnn: model(cnn, { ...BASE_KEYS, filters: true, denseUnits: true }),
  resnet: model(resnet, {
    ...BASE_KEYS,
    depth: true,
    blocksPerStage: true,
    width: true,
    blurPool: true,
    blurFilterSize: true,
    blurPadding: true,
    zeroInitLastBnGamma: true,
  }),
  vit: model(vit, {
    ...BASE_KEYS,
    stem: true,
    patchSize: true,
    dim: true,
    depth: true,
    heads: true,
    mlpRatio: true,
  }),
};

/** The models that also take rows of features (inputShape [n]), not only images. */
export const FEATURE_MODELS: readonly ModelName[] = Object.freeze(['mlp'] as ModelName[]);

export const MODEL_NAMES: readonly ModelName[] = Object.freeze(Object.keys(MODELS) as ModelName[]);

export function isModelName(name: string): name is ModelName {
  return Object.prototype.hasOwnProperty.call(MODELS, name);
}

/** The option keys of the model called `name`: the common ones, then its own. */
export function modelOptionKeys(name: ModelName): readonly string[] {
  return MODELS[name].keys;
}

/**
 * Builds a model by name; model-specific options (e.g. `hidden`, `blurPool`) ride along in opts.
 * An option the model does not take is an error naming it and the ones it takes.
 */
export function createModel(
  name: string,
  opts: ModelOptions & Record<string, unknown>,
): tfl.LayersModel {
  if (!isModelName(name)) {
    throw new UsageError(
      'ANNEAL_UNKNOWN_MODEL',
      `unknown model '${name}'; expected one of: ${MODEL_NAMES.join(', ')}.`,
    );
  }
  const entry = MODELS[name];
  if (opts.inputShape?.length === 1 && !FEATURE_MODELS.includes(name)) {
    throw new UsageError(
      'ANNEAL_MODEL_NEEDS_IMAGES',
      `model '${name}' takes images [height, width, channels], but the data are rows of ` +
        `${opts.inputShape[0]} features (csv); use ${FEATURE_MODELS.map((m) => `--model ${m}`).join(' or ')}`,
    );
  }
  checkKnownKeys(`model '${name}'`, opts, entry.keys, 'ANNEAL_BAD_MODEL_OPTION');
  return entry.factory(opts);
}

export { mlp, type MlpOptions } from './mlp.js';
export { cnn, type CnnOptions } from './cnn.js';
export { resnet, type ResnetOptions } from './resnet.js';
export { vit, defaultPatchSize, VIT_STEMS, type VitOptions, type VitStem } from './vit.js';
export {
  BlurPool2D,
  blurPool2d,
  binomialFilter2D,
  binomialRow,
  MAX_BLUR_FILTER_SIZE,
  type BlurPool2DArgs,
  type BlurPadding,
} from './blurpool.js';
export { MultiHeadSelfAttention, PositionEmbedding } from './attention.js';
export { SeedSequence } from './init.js';

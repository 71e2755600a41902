/**
 * Model zoo: every factory returns an uncompiled tfl.LayersModel whose output is LOGITS
 * (no softmax layer; losses apply softmax themselves). See README.md for the architectures and
 * their parameter counts.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { UsageError } from '../errors.js';
import { cnn } from './cnn.js';
import type { BaseModelOptions } from './init.js';
import { mlp } from './mlp.js';
import { resnet } from './resnet.js';
import { vit } from './vit.js';

export type ModelName = 'mlp' | 'cnn' | 'resnet' | 'vit';

export interface ModelOptions extends BaseModelOptions {
  /** Height, width, channels of one input image. */
  inputShape: [number, number, number];
  numClasses: number;
  /** Makes the initial weights deterministic. */
  seed?: number;
}

type Factory = (opts: ModelOptions & Record<string, unknown>) => tfl.LayersModel;

const FACTORIES: Record<ModelName, Factory> = { mlp, cnn, resnet, vit };

export const MODEL_NAMES: readonly ModelName[] = Object.freeze(
  Object.keys(FACTORIES) as ModelName[],
);

export function isModelName(name: string): name is ModelName {
  return Object.prototype.hasOwnProperty.call(FACTORIES, name);
}

/** Builds a model by name; model-specific options (e.g. `hidden`, `blurPool`) ride along in opts. */
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
  return FACTORIES[name](opts);
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

/**
 * A user's own tfjs LayersModel in a recipe (`model: { path }`, `anneal train --model m.json`):
 * loaded with its final softmax taken off (anneal's losses take logits), checked against the
 * data, and refused with the methods that rewrite a model's layers (BlurPool's transform,
 * ALASCA's heads), which anneal applies only to its own architectures.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Dataset } from '../data/index.js';
import { UsageError } from '../errors.js';
import { checkModelFitsData, loadLogitsModel } from '../io/index.js';
import { MODEL_NAMES } from '../models/index.js';
import type { Method } from '../train/method.js';

/** The name a recipe's model has when it comes from a file (`model: { path }`). */
export const USER_MODEL = 'user';

/** Whether `name` (a --model value or a recipe's model name) is a model file, not a name. */
export function isModelPath(name: string): boolean {
  return /\.json$/i.test(name) || name.includes('/') || name.includes('\\');
}

interface ModelTransform {
  transformModel(model: tfl.LayersModel): { model: tfl.LayersModel };
}

/** Methods that rebuild the model before training (they have a transformModel). */
export function isModelTransform(method: Method): method is Method & ModelTransform {
  return typeof (method as Partial<ModelTransform>).transformModel === 'function';
}

/**
 * For commands that build fresh models of a built-in architecture (`anneal curve`): a user's
 * model is refused in one line, before anything is loaded or written.
 */
export function refuseUserModel(path: string | undefined, command: string): void {
  if (path === undefined) return;
  throw new UsageError(
    'ANNEAL_USER_MODEL_UNSUPPORTED',
    `model ${path}: \`anneal ${command}\` builds fresh models of a built-in architecture and ` +
      `cannot take a user's model yet; use \`anneal train --model ${path}\`, or a built-in model`,
  );
}

/** Refuses the first method that rewrites the model: checked before any data is read. */
export function checkUserModelMethods(path: string, methods: readonly Method[]): void {
  const transform = methods.find(isModelTransform);
  if (transform) {
    throw new UsageError(
      'ANNEAL_METHOD_NEEDS_BUILT_IN_MODEL',
      `method '${transform.name}' rewrites the model's layers, which anneal does only for its ` +
        `built-in models (${MODEL_NAMES.join(', ')}), not for model ${path}; drop ${transform.name}, ` +
        'or train a built-in --model',
    );
  }
}

/**
 * The user's model at `path` for training on `data`: its final softmax taken off (one notice
 * line on stderr says so), its input shape and class count checked.
 */
export async function loadUserModel(path: string, data: Dataset): Promise<tfl.LayersModel> {
  const { model, stripped } = await loadLogitsModel(path);
  checkModelFitsData(model, path, data);
  if (stripped !== undefined) {
    console.error(
      `anneal: model ${path}: took off ${stripped}; anneal's losses take logits, and exports say "outputs": "logits"`,
    );
  }
  return model;
}

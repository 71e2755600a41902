/**
 * Seeded initialisation and option checks shared by every model factory.
 *
 * A model built with `seed` draws each layer's initial weights from its own seed, derived from
 * (seed, layer index) by a 32-bit hash, so the same seed gives the same weights and no two
 * layers (or two models with neighbouring seeds) get copies of the same random stream.
 * Without `seed`, tfjs draws from Math.random as usual.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { deriveSeed } from '../data/random.js';
import { UsageError } from '../errors.js';

export type Initializer = ReturnType<typeof tfl.initializers.glorotUniform>;

/** tfjs's initializers treat seed 0 as "no seed" (Math.random): never hand them 0. */
export function tfjsSeed(seed: number): number {
  return seed === 0 ? 1 : seed;
}

/** Hands out one derived seed per initializer, in construction order. */
export class SeedSequence {
  private index = 0;
  constructor(readonly seed?: number) {}

  next(): number | undefined {
    return this.seed === undefined ? undefined : tfjsSeed(deriveSeed(this.seed, this.index++));
  }

  /** Glorot-uniform: tfjs's (and Keras's) default for dense and conv kernels. */
  glorotUniform(): Initializer {
    return tfl.initializers.glorotUniform({ seed: this.next() });
  }

  /** He-normal (fan-in): the usual choice for ReLU convolutions in ResNets. */
  heNormal(): Initializer {
    return tfl.initializers.heNormal({ seed: this.next() });
  }

  truncatedNormal(stddev: number): Initializer {
    return tfl.initializers.truncatedNormal({ mean: 0, stddev, seed: this.next() });
  }
}

export function modelOptionError(model: string, option: string, value: unknown, expected: string) {
  return new UsageError(
    'ANNEAL_BAD_MODEL_OPTION',
    `model '${model}': option ${option} = ${JSON.stringify(value)} is not valid; expected ${expected}. ` +
      `Fix the value or leave it out to take the default.`,
  );
}

export function checkPositiveInt(model: string, option: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw modelOptionError(model, option, value, 'a positive integer');
  }
  return value;
}

export function checkPositiveIntList(model: string, option: string, value: unknown): number[] {
  if (!Array.isArray(value) || !value.every((v) => Number.isInteger(v) && v > 0)) {
    throw modelOptionError(model, option, value, 'an array of positive integers');
  }
  return value as number[];
}

export function checkBoolean(model: string, option: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw modelOptionError(model, option, value, 'true or false');
  return value;
}

export function checkChoice<T extends string>(
  model: string,
  option: string,
  value: unknown,
  choices: readonly T[],
): T {
  if (!choices.includes(value as T)) {
    throw modelOptionError(
      model,
      option,
      value,
      `one of ${choices.map((c) => `'${c}'`).join(', ')}`,
    );
  }
  return value as T;
}

/** Options every factory takes (see ModelOptions in index.ts), checked once here. */
export interface BaseModelOptions {
  inputShape: [number, number, number];
  numClasses: number;
  seed?: number;
}

/**
 * Checks the options every model takes; `features`: the model also takes rows of features
 * (inputShape [n], the csv dataset), not only images.
 */
export function checkBaseOptions(
  model: string,
  opts: Omit<BaseModelOptions, 'inputShape'> & { inputShape: unknown },
  features = false,
): void {
  const shape: unknown = opts.inputShape;
  if (
    !Array.isArray(shape) ||
    !(shape.length === 3 || (features && shape.length === 1)) ||
    !shape.every((d) => Number.isInteger(d) && d > 0)
  ) {
    throw modelOptionError(
      model,
      'inputShape',
      shape,
      `[height, width, channels]${features ? ' or [features]' : ''} of positive integers`,
    );
  }
  checkPositiveInt(model, 'numClasses', opts.numClasses);
  if (opts.seed !== undefined && (typeof opts.seed !== 'number' || !Number.isInteger(opts.seed))) {
    throw modelOptionError(model, 'seed', opts.seed, 'an integer');
  }
}

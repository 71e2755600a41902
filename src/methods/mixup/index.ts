/**
 * mixup (Zhang et al., 2018): train on convex combinations of pairs of samples and of their
 * labels, x' = lambda * x + (1 - lambda) * x[perm], y' = lambda * y + (1 - lambda) * y[perm],
 * with lambda ~ Beta(alpha, alpha) and perm a random permutation of the batch. See README.md.
 */
import * as tf from '@tensorflow/tfjs-core';
import { sampleBeta } from '../../data/augment.js';
import { permutation, Rng } from '../../data/random.js';
import { UsageError } from '../../errors.js';
import { Event } from '../../train/events.js';
import type { Method } from '../../train/method.js';
import type { TrainState } from '../../train/state.js';
import { replaceBatchTensors } from '../batch.js';

export interface MixupOptions {
  /** Beta(alpha, alpha) concentration, > 0: small alpha mixes little (lambda near 0 or 1). */
  alpha: number;
  /** One lambda per sample instead of one per batch (default false, as the paper). */
  perSample?: boolean;
}

/** The random draws of one mixup batch. */
export interface MixupDraw {
  /** One value (per batch) or one per sample, each in [0, 1]. */
  lambda: Float32Array;
  /** perm[i] is the sample mixed into sample i. */
  perm: Int32Array;
}

/** Stream of `state.stepSeed` for mixup's draws (distinct from other methods' streams). */
const MIXUP_STREAM = 0x6d697875;

/**
 * The functional twin: the mixed inputs and soft targets (new tensors, the caller's to dispose).
 * `lambda` is one number for the batch or one per sample; `perm` a permutation of 0..n-1.
 */
export function mixupBatch(
  x: tf.Tensor,
  yOneHot: tf.Tensor,
  lambda: number | ArrayLike<number>,
  perm: Int32Array,
): { x: tf.Tensor; y: tf.Tensor } {
  const n = x.shape[0];
  checkPairing('mixup', x, yOneHot, perm);
  const lambdas = typeof lambda === 'number' ? [lambda] : Array.from(lambda);
  if (lambdas.length !== 1 && lambdas.length !== n) {
    throw new UsageError(
      'ANNEAL_BAD_METHOD_OPTION',
      `mixup: lambda has ${lambdas.length} values, which is not valid: expected 1 or the batch size ${n}`,
    );
  }
  for (const l of lambdas) {
    if (!(l >= 0 && l <= 1)) {
      throw new UsageError(
        'ANNEAL_BAD_METHOD_OPTION',
        `mixup: lambda = ${l} is not valid: expected a number in [0, 1]`,
      );
    }
  }
  return tf.tidy(() => {
    const permT = tf.tensor1d(perm, 'int32');
    // Per-sample lambdas broadcast over every axis but the batch axis.
    const weight = (t: tf.Tensor) =>
      lambdas.length === 1
        ? tf.scalar(lambdas[0])
        : tf.tensor(lambdas, [n, ...t.shape.slice(1).map(() => 1)]);
    const mix = (t: tf.Tensor) => {
      const w = weight(t);
      return tf.add(tf.mul(w, t), tf.mul(tf.sub(1, w), tf.gather(t, permT)));
    };
    return { x: mix(x), y: mix(yOneHot) };
  });
}

/** Draws lambda (per batch, or per sample) and the pairing permutation for a batch of n. */
export function drawMixup(n: number, alpha: number, perSample: boolean, rng: Rng): MixupDraw {
  const lambda = new Float32Array(perSample ? n : 1);
  for (let i = 0; i < lambda.length; i++) lambda[i] = sampleBeta(alpha, alpha, rng);
  return { lambda, perm: permutation(n, rng) };
}

export class Mixup implements Method {
  readonly name = 'mixup';
  readonly alpha: number;
  readonly perSample: boolean;

  constructor(opts: MixupOptions) {
    this.alpha = checkAlpha('mixup', opts?.alpha);
    this.perSample = opts.perSample ?? false;
    if (typeof this.perSample !== 'boolean') {
      throw new UsageError(
        'ANNEAL_BAD_METHOD_OPTION',
        `mixup: perSample = ${JSON.stringify(opts.perSample)} is not valid: expected true or false`,
      );
    }
  }

  match(event: Event, state: TrainState): boolean {
    return event === Event.BATCH_START && state.batch !== null;
  }

  apply(_event: Event, state: TrainState): void {
    const batch = state.batch!;
    const rng = new Rng(state.stepSeed(MIXUP_STREAM));
    const { lambda, perm } = drawMixup(batch.x.shape[0], this.alpha, this.perSample, rng);
    const mixed = mixupBatch(batch.x, batch.y, lambda, perm);
    replaceBatchTensors(state, mixed.x, mixed.y);
    if (!this.perSample) state.metrics['mixup/lambda'] = lambda[0];
  }
}

export function mixup(opts: MixupOptions): Mixup {
  return new Mixup(opts);
}

/** alpha as a finite number > 0, else UsageError naming the method. */
export function checkAlpha(method: string, alpha: unknown): number {
  if (typeof alpha !== 'number' || !(alpha > 0) || !Number.isFinite(alpha)) {
    throw new UsageError(
      'ANNEAL_BAD_METHOD_OPTION',
      `${method}: alpha = ${JSON.stringify(alpha)} is not valid: expected a finite number > 0 (e.g. 0.2)`,
    );
  }
  return alpha;
}

/** Checks that x and y have the same batch size and perm is a permutation of it. */
export function checkPairing(method: string, x: tf.Tensor, y: tf.Tensor, perm: Int32Array): void {
  const n = x.shape[0];
  if (y.shape[0] !== n) {
    throw new UsageError(
      'ANNEAL_BAD_METHOD_OPTION',
      `${method}: targets have ${y.shape[0]} rows, which is not valid: expected the ${n} rows of the inputs`,
    );
  }
  const seen = new Uint8Array(n);
  for (const p of perm) {
    if (!(p >= 0 && p < n) || seen[p]) {
      throw new UsageError(
        'ANNEAL_BAD_METHOD_OPTION',
        `${method}: perm = [${perm}] is not valid: expected a permutation of 0..${n - 1}`,
      );
    }
    seen[p] = 1;
  }
  if (perm.length !== n) {
    throw new UsageError(
      'ANNEAL_BAD_METHOD_OPTION',
      `${method}: perm has ${perm.length} entries, which is not valid: expected the batch size ${n}`,
    );
  }
}

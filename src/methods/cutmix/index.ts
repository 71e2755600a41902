/**
 * CutMix (Yun et al., 2019): paste a box cut from another sample of the batch into each image
 * and mix the targets by the pasted area. See README.md.
 */
import * as tf from '@tensorflow/tfjs-core';
import { sampleBeta } from '../../data/augment.js';
import { permutation, Rng } from '../../data/random.js';
import { UsageError } from '../../errors.js';
import { Event } from '../../train/events.js';
import type { Method } from '../../train/method.js';
import type { TrainState } from '../../train/state.js';
import { replaceBatchTensors } from '../batch.js';
import { checkAlpha, checkPairing } from '../mixup/index.js';

export interface CutmixOptions {
  /** Beta(alpha, alpha) concentration of the target lambda, > 0 (the paper uses 1). */
  alpha: number;
}

/** Rows y0..y1-1 and columns x0..x1-1 are pasted; `lambda` is the share of the image kept. */
export interface CutmixBox {
  y0: number;
  y1: number;
  x0: number;
  x1: number;
  /** 1 - (pasted area) / (h * w), after clipping to the image. */
  lambda: number;
}

const CUTMIX_STREAM = 0x6375746d;

/**
 * The box of the paper's reference code (`rand_bbox`): sides floor(h * sqrt(1 - lambda)) and
 * floor(w * sqrt(1 - lambda)), centred at (cy, cx), each side reaching half of it (rounded
 * down) from the centre, clipped to the image; lambda is recomputed from the clipped area.
 */
export function cutmixBox(h: number, w: number, lambda: number, cy: number, cx: number): CutmixBox {
  if (!(lambda >= 0 && lambda <= 1)) {
    throw new UsageError(
      'ANNEAL_BAD_METHOD_OPTION',
      `cutmix: lambda = ${lambda} is not valid: expected a number in [0, 1]`,
    );
  }
  const cutRatio = Math.sqrt(1 - lambda);
  const halfH = Math.floor(Math.floor(h * cutRatio) / 2);
  const halfW = Math.floor(Math.floor(w * cutRatio) / 2);
  const clip = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
  const y0 = clip(cy - halfH, h);
  const y1 = clip(cy + halfH, h);
  const x0 = clip(cx - halfW, w);
  const x1 = clip(cx + halfW, w);
  return { y0, y1, x0, x1, lambda: 1 - ((y1 - y0) * (x1 - x0)) / (h * w) };
}

/**
 * The functional twin: inputs NHWC with `box` of sample perm[i] pasted into sample i, and targets
 * box.lambda * y + (1 - box.lambda) * y[perm] (new tensors, the caller's to dispose).
 */
export function cutmixBatch(
  x: tf.Tensor,
  yOneHot: tf.Tensor,
  box: CutmixBox,
  perm: Int32Array,
): { x: tf.Tensor; y: tf.Tensor } {
  if (x.rank !== 4) {
    throw new UsageError(
      'ANNEAL_BAD_METHOD_OPTION',
      `cutmix: inputs of shape [${x.shape}] are not valid: expected NHWC images (rank 4)`,
    );
  }
  checkPairing('cutmix', x, yOneHot, perm);
  const [, h, w, c] = x.shape;
  const inBox = new Uint8Array(h * w * c);
  for (let yy = box.y0; yy < box.y1; yy++)
    inBox.fill(1, (yy * w + box.x0) * c, (yy * w + box.x1) * c);
  return tf.tidy(() => {
    const permT = tf.tensor1d(perm, 'int32');
    const mask = tf.broadcastTo(tf.tensor4d(inBox, [1, h, w, c], 'bool'), x.shape);
    // where() copies pixels exactly (no arithmetic on them).
    const mixedX = tf.where(mask, tf.gather(x, permT), x);
    const lam = box.lambda;
    const mixedY = tf.add(tf.mul(lam, yOneHot), tf.mul(1 - lam, tf.gather(yOneHot, permT)));
    return { x: mixedX, y: mixedY };
  });
}

export class Cutmix implements Method {
  readonly name = 'cutmix';
  readonly alpha: number;

  constructor(opts: CutmixOptions) {
    this.alpha = checkAlpha('cutmix', opts?.alpha);
  }

  match(event: Event, state: TrainState): boolean {
    return event === Event.BATCH_START && state.batch !== null;
  }

  apply(_event: Event, state: TrainState): void {
    const batch = state.batch!;
    const [n, h, w] = batch.x.shape;
    const rng = new Rng(state.stepSeed(CUTMIX_STREAM));
    const lambda = sampleBeta(this.alpha, this.alpha, rng);
    const box = cutmixBox(h, w, lambda, rng.int(h), rng.int(w));
    const mixed = cutmixBatch(batch.x, batch.y, box, permutation(n, rng));
    replaceBatchTensors(state, mixed.x, mixed.y);
    state.metrics['cutmix/lambda'] = box.lambda;
  }
}

export function cutmix(opts: CutmixOptions): Cutmix {
  return new Cutmix(opts);
}

/**
 * Batch augmentation (Hoffer et al., 2019): every sample of a batch appears M times, each copy
 * with its own random augmentation, so the batch grows M-fold while the number of optimizer
 * steps stays the same. See README.md.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  augmentBatch,
  checkAugmentOptions,
  imageCount,
  type AugmentDraws,
  type AugmentOptions,
} from '../../data/augment.js';
import { Rng } from '../../data/random.js';
import type { ImageShape } from '../../data/types.js';
import { UsageError } from '../../errors.js';
import { Event } from '../../train/events.js';
import type { Method } from '../../train/method.js';
import type { TrainState } from '../../train/state.js';
import { hostInputs, replaceBatchTensors } from '../batch.js';

export interface BatchAugmentationOptions {
  /** Copies of each sample in the batch, an integer >= 1 (the paper: 2 to 32). */
  m: number;
  /** Random crop from the image zero-padded by this many pixels (default 4; 0: no crop). */
  pad?: number;
  /** Mirror left-right at random (default false: only for data that may flip, not digits). */
  flip?: boolean;
  /** Extra random shift of up to this many pixels (default 0). */
  translate?: number;
  /** Fill of the crop padding (default 'zero'). */
  padMode?: AugmentOptions['padMode'];
}

const BATCH_AUGMENTATION_STREAM = 0x62617567;

/**
 * The functional twin: n images become n * m, sample-major (rows i*m .. i*m+m-1 are views of
 * image i), each independently augmented. `source[r]` is the image row r came from.
 */
export function batchAugment(
  images: Float32Array,
  shape: ImageShape,
  m: number,
  augment: AugmentOptions,
  rng: Rng,
): AugmentDraws & { images: Float32Array; source: Int32Array } {
  checkM(m);
  const n = imageCount(images, shape);
  const size = images.length / n;
  const repeated = new Float32Array(images.length * m);
  const source = new Int32Array(n * m);
  for (let i = 0; i < n; i++) {
    const image = images.subarray(i * size, (i + 1) * size);
    for (let j = 0; j < m; j++) {
      repeated.set(image, (i * m + j) * size);
      source[i * m + j] = i;
    }
  }
  return { ...augmentBatch(repeated, shape, augment, rng), source };
}

export class BatchAugmentation implements Method {
  readonly name = 'batch-augmentation';
  readonly m: number;
  readonly augment: Required<AugmentOptions>;

  constructor(opts: BatchAugmentationOptions) {
    this.m = checkM(opts?.m);
    try {
      this.augment = checkAugmentOptions({ ...opts, pad: opts.pad ?? 4 });
    } catch (e) {
      // Same check, reported under this method's name and code.
      if (!(e instanceof UsageError)) throw e;
      throw new UsageError(
        'ANNEAL_BAD_METHOD_OPTION',
        e.message.replace(/^augment:/, 'batch-augmentation:'),
      );
    }
  }

  match(event: Event, state: TrainState): boolean {
    return event === Event.BATCH_START && state.batch !== null;
  }

  apply(_event: Event, state: TrainState): void {
    const batch = state.batch!;
    if (batch.x.rank !== 4) {
      throw new UsageError(
        'ANNEAL_BAD_METHOD_OPTION',
        `batch-augmentation: inputs of shape [${batch.x.shape}] are not valid: expected NHWC images (rank 4)`,
      );
    }
    const [, h, w, c] = batch.x.shape;
    const rng = new Rng(state.stepSeed(BATCH_AUGMENTATION_STREAM));
    // The current inputs: what methods before this one made of them.
    const host = hostInputs(state);
    const { images, source } = batchAugment(host, [h, w, c], this.m, this.augment, rng);
    const x = tf.tensor4d(images, [source.length, h, w, c]);
    const y = tf.tidy(() => tf.gather(batch.y, tf.tensor1d(source, 'int32')));
    replaceBatchTensors(state, x, y, images);
  }
}

export function batchAugmentation(opts: BatchAugmentationOptions): BatchAugmentation {
  return new BatchAugmentation(opts);
}

function checkM(m: unknown): number {
  if (typeof m !== 'number' || !Number.isInteger(m) || m < 1) {
    throw new UsageError(
      'ANNEAL_BAD_METHOD_OPTION',
      `batch-augmentation: m = ${JSON.stringify(m)} is not valid: expected an integer >= 1 (e.g. 4)`,
    );
  }
  return m;
}

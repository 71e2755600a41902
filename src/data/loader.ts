/**
 * Batches over an in-memory Dataset. The order of an epoch is a pure function of (seed, epoch):
 * a loader never keeps position or RNG state (only the latest epoch's order, cached), so resuming
 * s samples into epoch e is just `take(e, s, size)`, and two loaders with the same seed agree.
 */
import { UsageError } from '../errors.js';
import { deriveSeed, permutation, Rng } from './random.js';
import { sampleSize, type Batch, type Dataset } from './types.js';

// Keep the shuffling and validation-split random streams of one seed apart.
const SHUFFLE_STREAM = 1;
const VALIDATION_STREAM = 2;

export interface DataLoaderOptions {
  batchSize: number;
  /** Default true (a new order each epoch); pass false for evaluation in data set order. */
  shuffle?: boolean;
  /** Default 0. */
  seed?: number;
  /** Drop the last batch when it is smaller than batchSize (default false). */
  dropLast?: boolean;
}

export class DataLoader {
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly dropLast: boolean;
  readonly batchesPerEpoch: number;
  /** Samples one epoch yields (fewer than the data set's length when dropLast drops some). */
  readonly samplesPerEpoch: number;
  /** The latest epoch's order, so that take() does not shuffle again for every batch. */
  private lastOrder: { epoch: number; order: Int32Array } | null = null;

  constructor(
    readonly dataset: Dataset,
    opts: DataLoaderOptions,
  ) {
    this.batchSize = opts.batchSize;
    this.shuffle = opts.shuffle ?? true;
    this.seed = opts.seed ?? 0;
    this.dropLast = opts.dropLast ?? false;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) {
      throw new UsageError(
        'ANNEAL_BAD_BATCH_SIZE',
        `batch size = ${this.batchSize} is not valid: expected a positive integer`,
      );
    }
    new Rng(this.seed); // validates the seed now rather than at the first epoch
    const n = dataset.length;
    this.batchesPerEpoch = this.dropLast
      ? Math.floor(n / this.batchSize)
      : Math.ceil(n / this.batchSize);
    if (this.batchesPerEpoch === 0) {
      throw new UsageError(
        'ANNEAL_BAD_BATCH_SIZE',
        `${dataset.name} has ${n} samples, which makes no batch of ${this.batchSize}` +
          (this.dropLast ? ' with dropLast' : '') +
          ': use a smaller batch size, more data' +
          (this.dropLast ? ' or dropLast: false' : ''),
      );
    }
    this.samplesPerEpoch = this.dropLast ? this.batchesPerEpoch * this.batchSize : n;
  }

  /** Indices of the data set in the order epoch `epoch` visits them. */
  order(epoch: number): Int32Array {
    if (!Number.isInteger(epoch) || epoch < 0) {
      throw new UsageError(
        'ANNEAL_BAD_EPOCH',
        `epoch = ${epoch} is not valid: expected an integer >= 0`,
      );
    }
    const n = this.dataset.length;
    if (!this.shuffle) return Int32Array.from({ length: n }, (_, i) => i);
    return permutation(n, new Rng(deriveSeed(this.seed, SHUFFLE_STREAM, epoch)));
  }

  /** The batches of one epoch, starting at batch `fromBatch` (to resume mid-epoch). */
  *batches(epoch: number, fromBatch = 0): Generator<Batch, void, undefined> {
    if (!Number.isInteger(fromBatch) || fromBatch < 0 || fromBatch > this.batchesPerEpoch) {
      throw new UsageError(
        'ANNEAL_BAD_BATCH_INDEX',
        `fromBatch = ${fromBatch} is not valid: expected an integer in 0..${this.batchesPerEpoch}`,
      );
    }
    const order = this.order(epoch);
    for (let b = fromBatch; b < this.batchesPerEpoch; b++) {
      yield this.slice(order, b * this.batchSize, this.batchSize);
    }
  }

  /**
   * The batch of up to `size` samples that starts `offset` samples into epoch `epoch`; it stops
   * at the epoch's end (samplesPerEpoch), so no batch spans two epochs. The Trainer draws its
   * batches this way, by samples seen, which lets the batch size change from step to step.
   */
  take(epoch: number, offset: number, size: number): Batch {
    if (!Number.isInteger(offset) || offset < 0 || offset >= this.samplesPerEpoch) {
      throw new UsageError(
        'ANNEAL_BAD_BATCH_INDEX',
        `offset = ${offset} is not valid: expected an integer in 0..${this.samplesPerEpoch - 1} ` +
          `(samples into an epoch of ${this.dataset.name})`,
      );
    }
    if (!Number.isInteger(size) || size < 1) {
      throw new UsageError(
        'ANNEAL_BAD_BATCH_SIZE',
        `batch size = ${size} is not valid: expected a positive integer`,
      );
    }
    if (this.lastOrder?.epoch !== epoch) this.lastOrder = { epoch, order: this.order(epoch) };
    return this.slice(this.lastOrder.order, offset, size);
  }

  private slice(order: Int32Array, offset: number, size: number): Batch {
    const indices = order.subarray(offset, Math.min(offset + size, this.samplesPerEpoch));
    return {
      ...gather(this.dataset, indices),
      size: indices.length,
      shape: [...this.dataset.shape],
      indices: indices.slice(),
    };
  }
}

/** Copies the samples at `indices` (in that order) into new arrays. */
export function gather(
  ds: Dataset,
  indices: ArrayLike<number>,
): { images: Float32Array; labels: Int32Array } {
  const size = sampleSize(ds.shape);
  const images = new Float32Array(indices.length * size);
  const labels = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const index = indices[i];
    if (!(index >= 0 && index < ds.length)) {
      throw new UsageError(
        'ANNEAL_BAD_INDEX',
        `sample index ${index} is out of range for ${ds.name}, which has ${ds.length} samples`,
      );
    }
    images.set(ds.images.subarray(index * size, (index + 1) * size), i * size);
    labels[i] = ds.labels[index];
  }
  return { images, labels };
}

/** A new Dataset of the samples at `indices` (copied), keeping everything else. */
export function subset(ds: Dataset, indices: ArrayLike<number>): Dataset {
  return { ...ds, ...gather(ds, indices), shape: [...ds.shape], length: indices.length };
}

/**
 * Holds out round(fraction * length) samples, chosen at random from the seed, as a validation
 * set; both parts keep the data set's order. Not stratified.
 */
export function splitValidation(
  ds: Dataset,
  fraction: number,
  seed: number,
): { train: Dataset; val: Dataset } {
  const valCount = Math.round(fraction * ds.length);
  if (!(fraction > 0 && fraction < 1) || valCount < 1 || valCount >= ds.length) {
    throw new UsageError(
      'ANNEAL_BAD_VALIDATION_FRACTION',
      `validation fraction = ${fraction} of ${ds.length} samples is not valid: expected a number ` +
        'in (0, 1) that leaves at least one sample on each side',
    );
  }
  const shuffled = permutation(ds.length, new Rng(deriveSeed(seed, VALIDATION_STREAM)));
  const val = shuffled.slice(0, valCount).sort();
  const train = shuffled.slice(valCount).sort();
  return { train: subset(ds, train), val: subset(ds, val) };
}

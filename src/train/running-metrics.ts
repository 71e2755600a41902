/**
 * The epoch's running training loss and accuracy, kept as tensors until something reads them.
 * On a GPU backend a read waits for the device, so a step that read its loss and hits at once
 * could not queue the next step's work while this one runs; here a step reads nothing back, and
 * the first reader (a logger, the progress bar, a method asking for `lossValue`, a checkpoint)
 * reads every step since the last read in one transfer. The sums are added in step order in
 * float64, as they were when each step read its own numbers, so the metrics are the same.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Train loss/accuracy sums of the current epoch (kept in checkpoints for exact epoch means). */
export interface EpochSums {
  loss: number;
  hits: number;
  /**
   * Rows the hits were counted over: a method may train on more rows than the loader gave
   * (batch augmentation repeats each sample M times).
   */
  rows: number;
  samples: number;
}

interface Step {
  loss: tf.Tensor | null;
  /** The loss once read (NaN before). */
  value: number;
  hits: tf.Tensor | null;
  hitsValue: number;
  /** Samples and rows; undefined until the step is counted (its loss is known earlier). */
  size?: number;
  rows: number;
}

const zero = (): EpochSums => ({ loss: 0, hits: 0, rows: 0, samples: 0 });

/**
 * Scalar tensors side by side in one new tensor, for one read of them all (each read waits for
 * the backend, and on a GPU stalls the queue of work behind it).
 */
export function scalarsSideBySide(scalars: readonly tf.Tensor[]): tf.Tensor1D {
  return tf.tidy(() => tf.concat(scalars.map((t) => tf.reshape(t, [1]))) as tf.Tensor1D);
}

/** Steps held unread at most: past this many the next step reads them (bounds the tensors held). */
export const MAX_UNREAD_STEPS = 256;

export class RunningMetrics {
  private sums: EpochSums = zero();
  private steps: Step[] = [];
  /** The current step (counted or not), whose loss `lossValue` gives. */
  private current: Step | null = null;
  /** The last epoch's means, shown after it ends until the next epoch counts a step. */
  private last: { loss: number; accuracy: number } | null = null;
  private readonly lossGetter = () => this.mean('loss');
  private readonly accuracyGetter = () => this.mean('accuracy');

  /** A step begins: its loss is NaN until setLoss. */
  beginStep(): void {
    this.dropUncounted();
    this.current = null;
  }

  /** This step's loss (a copy is kept: the caller disposes its tensor). */
  setLoss(loss: tf.Tensor): void {
    this.current = { loss: tf.keep(tf.clone(loss)), value: NaN, hits: null, hitsValue: 0, rows: 0 };
    this.steps.push(this.current);
  }

  /** The current step's loss as a number (NaN before setLoss). Reads every unread step. */
  get lossValue(): number {
    if (this.current?.loss) this.read();
    return this.current?.value ?? NaN;
  }

  /**
   * Counts the current step: `size` samples, and `hits` (kept; the caller disposes its own) over
   * `rows` rows when the outputs are classifications. Installs the metrics' readers on `metrics`.
   */
  count(metrics: Record<string, number>, size: number, hits: tf.Tensor | null, rows: number): void {
    const step = this.current;
    if (!step || step.size !== undefined) throw new Error('RunningMetrics.count before setLoss');
    step.size = size;
    step.rows = rows;
    step.hits = hits ? tf.keep(tf.clone(hits)) : null;
    lazyMetric(metrics, 'train/loss', this.lossGetter);
    if (hits) lazyMetric(metrics, 'train/accuracy', this.accuracyGetter);
    if (this.steps.length >= MAX_UNREAD_STEPS) this.read();
  }

  /** The epoch's sums with every step read (what a checkpoint keeps). */
  settled(): EpochSums {
    this.read();
    return { ...this.sums };
  }

  /** A new epoch: the sums start again; the ended epoch's means show until a step is counted. */
  newEpoch(): void {
    this.read();
    if (this.sums.samples > 0) {
      this.last = { loss: this.mean('loss'), accuracy: this.mean('accuracy') };
    }
    this.sums = zero();
  }

  /** Sums restored from a checkpoint. */
  restore(sums: EpochSums): void {
    this.dispose();
    this.sums = { ...sums };
    this.last = null;
  }

  /** Reads what is unread and frees the kept tensors. */
  dispose(): void {
    this.read();
    this.dropUncounted();
  }

  private mean(which: 'loss' | 'accuracy'): number {
    this.read();
    const s = this.sums;
    if (which === 'loss') return s.samples > 0 ? s.loss / s.samples : (this.last?.loss ?? NaN);
    return s.rows > 0 ? s.hits / s.rows : (this.last?.accuracy ?? NaN);
  }

  /** One read of every unread loss and hits count, then the counted steps join the sums. */
  private read(): void {
    const unread = this.steps.filter((s) => s.loss !== null || s.hits !== null);
    if (unread.length > 0) {
      const tensors = unread.flatMap((s) => [s.loss, s.hits].filter((t) => t !== null));
      const together = scalarsSideBySide(tensors);
      const values = together.dataSync();
      together.dispose();
      let k = 0;
      for (const s of unread) {
        if (s.loss) s.value = values[k++];
        if (s.hits) s.hitsValue = values[k++];
      }
      tf.dispose(tensors);
      for (const s of unread) s.loss = s.hits = null;
    }
    while (this.steps.length > 0 && this.steps[0].size !== undefined) {
      const s = this.steps.shift()!;
      this.sums.loss += s.value * s.size!;
      this.sums.samples += s.size!;
      if (s.rows > 0) {
        this.sums.hits += s.hitsValue;
        this.sums.rows += s.rows;
      }
    }
  }

  /** A step that ended before it was counted (it threw) is dropped. */
  private dropUncounted(): void {
    const step = this.steps.at(-1);
    if (step && step.size === undefined) {
      tf.dispose([step.loss, step.hits].filter((t) => t !== null));
      step.loss = step.hits = null;
      this.steps.pop();
    }
  }
}

/**
 * Puts `get` on `metrics` as `key`'s getter (once; the same function again is a no-op): a metric
 * that lives on a device is read when someone reads it, not every step.
 */
export function lazyMetric(metrics: Record<string, number>, key: string, get: () => number): void {
  if (Object.getOwnPropertyDescriptor(metrics, key)?.get === get) return;
  Object.defineProperty(metrics, key, { get, enumerable: true, configurable: true });
}

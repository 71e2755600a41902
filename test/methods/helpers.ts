/** Shared by the loss-method suites: a plain-JS log-softmax and a spy on each step's loss. */
import { Event } from '../../src/train/events.js';
import type { Method } from '../../src/train/method.js';
import { maxOf } from '../../src/stats.js';

/** log softmax of one row of logits, computed stably in float64. */
export function logSoftmax(row: number[]): number[] {
  const max = maxOf(row);
  const logSum = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
  return row.map((v) => v - logSum);
}

export interface SpiedStep {
  logits: number[][];
  labels: number[];
  loss: number;
  /** The Trainer's metrics right after the loss (methods write theirs there). */
  metrics: Record<string, number>;
}

/** Records each step's raw logits (AFTER_FORWARD), labels, loss and metrics (AFTER_LOSS). */
export function lossSpy(): { seen: SpiedStep[]; method: Method } {
  const seen: SpiedStep[] = [];
  const method: Method = {
    name: 'loss-spy',
    match: (e) => e === Event.AFTER_FORWARD || e === Event.AFTER_LOSS,
    apply: (e, s) => {
      if (e === Event.AFTER_FORWARD) {
        const labels = [...s.batch!.data.labels];
        seen.push({ logits: s.outputs!.arraySync() as number[][], labels, loss: NaN, metrics: {} });
      } else {
        const last = seen[seen.length - 1];
        last.loss = s.loss!.dataSync()[0];
        last.metrics = { ...s.metrics };
      }
    },
  };
  return { seen, method };
}

/** Three rows of logits over 4 classes and their labels, for closed-form loss checks. */
export const LOGITS = [
  [2, 1, 0.1, -1],
  [0.5, 0.5, 3, -2],
  [-1, 4, 0, 1],
];
export const LABELS = [0, 2, 3];

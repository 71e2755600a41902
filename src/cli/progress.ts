/**
 * Progress reporting for long work: a cli-progress bar on an interactive terminal, and nothing
 * per batch otherwise (logs and CI stay readable; epoch lines are printed by the caller).
 */
import cliProgress from 'cli-progress';
import type { Callback } from '../train/method.js';
import type { TrainState } from '../train/state.js';

export interface Progress {
  /** False when nothing is shown (not enabled, or stderr is not a terminal). */
  readonly live: boolean;
  update(done: number, values?: Record<string, string | number>): void;
  stop(): void;
}

export function createProgress(
  total: number,
  label: string,
  enabled: boolean,
  format = `${label} [{bar}] {percentage}% | {value}/{total} | loss {loss} | eta {eta_formatted}`,
  start = 0,
): Progress {
  if (!enabled || !process.stderr.isTTY) return { live: false, update() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    { format, stream: process.stderr, hideCursor: true, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, start, { loss: '-', accuracy: '-', rate: '-' });
  return {
    live: true,
    update: (done, values) => bar.update(done, values),
    stop: () => bar.stop(),
  };
}

const READ_EVERY_MS = 500;

/**
 * A Trainer callback showing one bar per epoch, in samples (batch sizes may vary), with the
 * running training loss and accuracy of the epoch and the throughput; silent unless enabled and
 * stderr is a terminal. The loss and accuracy are read at most twice a second: reading them waits
 * for the backend (on a GPU, for the queued steps), which a bar nobody sees should not cost.
 */
export class ProgressCallback implements Callback {
  private bar: Progress | null = null;
  private readAt = -Infinity;
  private shown: Record<string, string> = { loss: '-', accuracy: '-' };

  constructor(private readonly enabled: boolean) {}

  onEpochStart(state: TrainState): void {
    this.start(state);
  }

  onBatchEnd(state: TrainState): void {
    // A run resumed mid-epoch has no EPOCH_START before its first batch.
    if (!this.bar) this.start(state);
    if (!this.bar!.live) return;
    const { metrics, timestamp: ts } = state;
    if (performance.now() - this.readAt >= READ_EVERY_MS) {
      this.readAt = performance.now();
      this.shown = {
        loss: metrics['train/loss']?.toFixed(4) ?? '-',
        accuracy: metrics['train/accuracy']?.toFixed(4) ?? '-',
      };
    }
    this.bar!.update(samplesInEpoch(state), {
      ...this.shown,
      rate: ts.trainSeconds > 0 ? Math.round(ts.samples / ts.trainSeconds) : '-',
    });
  }

  onEpochEnd(): void {
    this.stop();
  }

  onFitEnd(): void {
    this.stop();
  }

  private start(state: TrainState): void {
    this.stop();
    const epochs = Math.ceil(state.timeline.epochsAt(state.maxSteps));
    const label = `epoch ${state.timestamp.epoch + 1}/${epochs}`;
    this.bar = createProgress(
      state.loader.samplesPerEpoch,
      label,
      this.enabled,
      `${label} [{bar}] {value}/{total} samples | loss {loss} | acc {accuracy} | {rate} samples/s | eta {eta_formatted}`,
      samplesInEpoch(state),
    );
  }

  private stop(): void {
    this.bar?.stop();
    this.bar = null;
  }
}

function samplesInEpoch(state: TrainState): number {
  const ts = state.timestamp;
  return ts.samples - ts.epoch * state.loader.samplesPerEpoch;
}

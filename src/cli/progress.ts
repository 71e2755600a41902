/**
 * Progress reporting for long work: a cli-progress bar on an interactive terminal, and nothing
 * per batch otherwise (logs and CI stay readable; epoch lines are printed by the caller).
 */
import cliProgress from 'cli-progress';

export interface Progress {
  update(done: number, values?: Record<string, string | number>): void;
  stop(): void;
}

export function createProgress(total: number, label: string, enabled: boolean): Progress {
  if (!enabled || !process.stderr.isTTY) return { update() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {percentage}% | {value}/{total} | loss {loss} | eta {eta_formatted}`,
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { loss: '-' });
  return {
    update: (done, values) => bar.update(done, values),
    stop: () => bar.stop(),
  };
}

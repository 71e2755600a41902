/**
 * Timing for benchmarks: benchmark.js on the host (it calibrates the repetitions per sample and
 * reports the relative margin of error), and the backend's own clock (CUDA events) when it has
 * one, so queued GPU work is timed rather than the host's launch loop.
 */
import Benchmark from 'benchmark';

export interface Timing {
  /** Mean milliseconds per call. */
  ms: number;
  /** Relative margin of error of the mean, in percent (0 when the clock gives one figure). */
  rme: number;
  samples: number;
}

export interface TimingOptions {
  /** Seconds benchmark.js may spend on one measurement (after its minimum samples). */
  maxTime: number;
  minSamples: number;
}

/** Mean time of a synchronous fn, measured by benchmark.js. */
export function measure(fn: () => void, opts: TimingOptions): Timing {
  const bench = new Benchmark({ fn, maxTime: opts.maxTime, minSamples: opts.minSamples });
  bench.run();
  if (bench.error) throw bench.error;
  return { ms: bench.stats.mean * 1000, rme: bench.stats.rme, samples: bench.stats.sample.length };
}

/** A clock that times `repeats` calls of run and returns milliseconds per call (CUDA events). */
export type DeviceClock = (run: () => void, repeats: number) => number;

/** Mean time from a device clock: one call to estimate, then enough repeats for ~targetMs. */
export function measureWithClock(clock: DeviceClock, fn: () => void, targetMs: number): Timing {
  const estimate = clock(fn, 1);
  const repeats = Math.max(1, Math.min(1000, Math.round(targetMs / Math.max(estimate, 1e-3))));
  return { ms: clock(fn, repeats), rme: 0, samples: repeats };
}

/** GB/s of moving `bytes` bytes in `ms` milliseconds. */
export const gbPerSecond = (bytes: number, ms: number) => bytes / (ms * 1e6);

/**
 * Times of a long call (a training step): `warmUp` calls (default 1), then calls until `samples`
 * are taken or `budgetMs` has passed (at least one). For calls too slow for benchmark.js's
 * repetitions.
 */
export function sampleTimes(
  run: () => void,
  opts: { samples: number; budgetMs: number; warmUp?: number; afterWarmUp?: () => void },
): number[] {
  for (let i = 0; i < (opts.warmUp ?? 1); i++) run();
  opts.afterWarmUp?.();
  const times: number[] = [];
  const start = performance.now();
  while (
    times.length < opts.samples &&
    (times.length === 0 || performance.now() - start < opts.budgetMs)
  ) {
    const t0 = performance.now();
    run();
    times.push(performance.now() - t0);
  }
  return times;
}

/**
 * Runs a scheduler's jobs with up to `workers` in flight. `evaluate` is the objective: the worker
 * pool's training in a search, a plain function in tests. A job whose evaluate throws (or returns
 * a non-finite score) is reported as failed and the search goes on.
 */
import type { Job, Outcome, Scheduler } from './schedulers.js';

export interface DriveOptions {
  /** Jobs in flight at once (default 1). */
  workers?: number;
  /** After each job's report. */
  onReport?: (job: Job, outcome: Outcome, seconds: number) => void;
  /** When a job starts (from the scheduler; resumed jobs are not announced). */
  onStart?: (job: Job) => void;
  /** Jobs already handed out by the scheduler (a resumed search's running jobs): run first. */
  resumed?: readonly Job[];
}

export async function drive(
  scheduler: Scheduler,
  evaluate: (job: Job) => Promise<number>,
  opts: DriveOptions = {},
): Promise<void> {
  const workers = Math.max(1, opts.workers ?? 1);
  const inFlight = new Map<number, Promise<void>>();
  let serial = 0;
  const resumed = [...(opts.resumed ?? [])];
  for (;;) {
    while (inFlight.size < workers) {
      const job = resumed.shift() ?? scheduler.next();
      if (job === 'wait' || job === 'done') break;
      const id = serial++;
      if (!opts.resumed?.includes(job)) opts.onStart?.(job);
      const started = performance.now();
      const run = (async () => {
        let outcome: Outcome;
        try {
          const score = await evaluate(job);
          outcome = Number.isFinite(score)
            ? { score }
            : { error: `the objective returned ${String(score)}` };
        } catch (e) {
          outcome = { error: e instanceof Error ? e.message : String(e) };
        }
        scheduler.report(job, outcome);
        opts.onReport?.(job, outcome, (performance.now() - started) / 1000);
      })().finally(() => inFlight.delete(id));
      inFlight.set(id, run);
    }
    if (inFlight.size === 0) {
      const state = scheduler.next();
      if (state === 'done') return;
      throw new Error(`scheduler ${scheduler.name} waits with no job running (a scheduler bug)`);
    }
    await Promise.race(inFlight.values());
  }
}

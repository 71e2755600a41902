/**
 * A search's journal: every job the scheduler handed out and every outcome reported, in the order
 * they happened, rewritten atomically into `<out>/journal.json` after each event (and, with a
 * queue, appended to a Redis list). A killed search is resumed by replaying it: the scheduler is
 * rebuilt by the same sequence of next() and report() calls, which makes the same decisions, so
 * finished jobs are not run again and the jobs that were running are handed out once more (they
 * resume their trial's checkpoint).
 *
 * SHA, Hyperband and MORL promote at rung barriers, so a resumed sweep makes the same promotions
 * as an uninterrupted one. ASHA and median stopping decide in completion order: the replay
 * repeats their recorded decisions, and the sweep continues from there.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { writeJsonAtomic } from '../runs/run-dir.js';
import type { Job, Outcome, Scheduler } from './schedulers.js';

/** What one finished job measured beyond its score. */
export interface JobDetail {
  loss: number | null;
  steps: number | null;
  seconds: number;
}

export type JournalEvent =
  | { type: 'start'; job: Job }
  | {
      type: 'report';
      job: Job;
      outcome: Outcome;
      detail: JobDetail | null;
      /** Seconds since the search began (over every resumed session) when it was recorded. */
      elapsed: number;
    };

/** Where else a journal goes (a Redis list with a queue): appended in order, after the file. */
export interface JournalSink {
  append(event: JournalEvent): Promise<void>;
}

export const JOURNAL_FILE = 'journal.json';

export class Journal {
  private readonly path: string;
  readonly events: JournalEvent[];

  constructor(
    out: string,
    events: JournalEvent[] = [],
    private readonly sink?: JournalSink,
    private readonly onSinkError?: (e: unknown) => void,
  ) {
    this.path = join(out, JOURNAL_FILE);
    this.events = [...events];
  }

  append(event: JournalEvent): void {
    this.events.push(event);
    writeJsonAtomic(this.path, { version: 1, events: this.events });
    this.sink?.append(event).catch((e: unknown) => this.onSinkError?.(e));
  }
}

/** The events of `<out>/journal.json`; a missing or unreadable one is a one-line error. */
export function readJournal(out: string): JournalEvent[] {
  const path = join(out, JOURNAL_FILE);
  if (!existsSync(path)) {
    throw new UsageError(
      'ANNEAL_RESUME',
      `cannot resume ${out}: it has no ${JOURNAL_FILE} (a search from before resumable searches, ` +
        'or not a search directory); start it again with --overwrite',
    );
  }
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as { version?: number; events?: unknown };
  if (parsed.version !== 1 || !Array.isArray(parsed.events)) {
    throw new UsageError(
      'ANNEAL_RESUME',
      `cannot resume ${out}: ${path} is not a version-1 journal; start the search again with --overwrite`,
    );
  }
  return parsed.events as JournalEvent[];
}

const jobKey = (job: Job) => `${job.trial}/${job.rung}`;

function sameJob(a: Job, b: Job): boolean {
  return (
    a.trial === b.trial &&
    a.bracket === b.bracket &&
    a.rung === b.rung &&
    a.resource === b.resource &&
    a.from === b.from &&
    a.fidelity === b.fidelity
  );
}

/**
 * Replays `events` into a fresh `scheduler` and returns the jobs that were handed out but never
 * reported (running when the search was killed), in the order they started. A job the scheduler
 * would not hand out at that point means the journal belongs to other settings: a one-line error.
 */
export function replayJournal(scheduler: Scheduler, events: readonly JournalEvent[]): Job[] {
  const running = new Map<string, Job>();
  for (const [index, event] of events.entries()) {
    if (event.type === 'start') {
      const job = scheduler.next();
      if (job === 'wait' || job === 'done' || !sameJob(job, event.job)) {
        throw new UsageError(
          'ANNEAL_RESUME',
          `the journal's event ${index} starts trial ${event.job.trial} rung ${event.job.rung}, but the ` +
            `${scheduler.name} scheduler hands out ${typeof job === 'string' ? `'${job}'` : `trial ${job.trial} rung ${job.rung}`} ` +
            'there: the journal does not belong to these search settings; start again with --overwrite',
        );
      }
      running.set(jobKey(job), job);
    } else {
      if (!running.delete(jobKey(event.job))) {
        throw new UsageError(
          'ANNEAL_RESUME',
          `the journal's event ${index} reports trial ${event.job.trial} rung ${event.job.rung}, which ` +
            'was not running: the journal is damaged; start the search again with --overwrite',
        );
      }
      scheduler.report(event.job, event.outcome);
    }
  }
  return [...running.values()];
}

/**
 * The longer of two copies of one journal (the run directory's and the queue's), checking that
 * the shorter is a prefix of it: each copy may have missed the last events before a kill.
 */
export function longerJournal(a: JournalEvent[], b: JournalEvent[]): JournalEvent[] {
  const [short, long] = a.length <= b.length ? [a, b] : [b, a];
  const differs = short.findIndex((e, i) => JSON.stringify(e) !== JSON.stringify(long[i]));
  if (differs >= 0) {
    throw new UsageError(
      'ANNEAL_RESUME',
      `the run directory's journal and the queue's differ at event ${differs}: they are not the ` +
        'same search; pass the queue this search used (--queue) or resume without --redis',
    );
  }
  return long;
}

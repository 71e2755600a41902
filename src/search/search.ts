/**
 * A multi-fidelity hyper-parameter search: a space over recipe fields, a scheduler, and trials
 * trained in worker threads, written to an out directory:
 *
 * ```
 * <out>/search.json          all trials, their rung scores, rung progress and the best config
 * <out>/trials/trial-007/    config.json (values + full recipe), log.jsonl, checkpoints/
 * ```
 *
 * search.json is rewritten atomically after every finished job, so a killed search leaves a
 * readable record of what finished.
 */
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { resolveThreads } from '../machine.js';
import type { EngineState } from '../engine/index.js';
import { UsageError } from '../errors.js';
import { variesBatchSize } from '../methods/registry.js';
import { recipeTrainerOptions, type Recipe } from '../runs/recipe.js';
import { Trainer } from '../train/trainer.js';
import { openRunDir, readRunMarker, RUN_MARKER, writeJsonAtomic } from '../runs/run-dir.js';
import {
  Journal,
  longerJournal,
  readJournal,
  replayJournal,
  type JournalEvent,
  type JournalSink,
} from './journal.js';
import { formatDuration, parseDuration, type TimeUnit } from '../time/index.js';
import { drive } from './driver.js';
import { WorkerPool, workerModule, type Executor, type ExecutorStatus } from '../runs/executor.js';
import {
  bestTrial,
  createScheduler,
  type Job,
  type RungProgress,
  type Scheduler,
  type SchedulerName,
  type TrialStatus,
} from './schedulers.js';
import { applyConfig, sampleConfig, type SearchSpace, type TrialConfig } from './space.js';
import { timelineOf, trialData, type TrialRequest, type TrialResult } from './trial.js';

export interface SearchOptions {
  space: SearchSpace;
  /** The recipe every trial starts from (its `duration` is replaced by the rung resources). */
  base: Recipe;
  scheduler: SchedulerName | string;
  /** '8ep', '2000ba', '64000sp'. */
  maxResource: string;
  /** Same unit as maxResource; default maxResource / eta^2. */
  minResource?: string;
  /** Default 3. */
  eta?: number;
  /** Configurations (SHA, MORL, ASHA, median; default eta^s_max). Hyperband's are fixed. */
  configs?: number;
  /** Median stopping only: other trials needed at a rung before it stops anyone (default 3). */
  minTrials?: number;
  /**
   * Jobs in flight at once (default 1): the worker threads of the local pool, whose anneal-cpu
   * threads (the base recipe's `threads`, else ANNEAL_THREADS, else every core) are divided among
   * them (see workerThreads), or the jobs kept on a queue.
   */
  workers?: number;
  /** Seeds the sampled configurations and the validation split (default 0). */
  seed?: number;
  /** Fraction of the training data held out to score trials (default 0.1). */
  valFraction?: number;
  out: string;
  /** Replace a non-empty out directory. */
  overwrite?: boolean;
  /** After every change, with where the executor's jobs are (when it can tell). */
  onUpdate?: (snapshot: SearchResult, event: SearchEvent, executor?: ExecutorStatus) => void;
  /** Also append the journal here (the queue's Redis list); the run directory always has it. */
  journal?: JournalSink;
  /**
   * Runs the trial jobs (default: a pool of `workers` worker threads; src/queue's executor puts
   * them on a Redis queue). At most `workers` jobs are in flight at once either way.
   */
  executor?: Executor<TrialRequest, TrialResult>;
}

export type SearchEvent =
  { type: 'start'; job: Job } | { type: 'report'; job: Job; error?: string } | { type: 'done' };

export interface TrialRecord {
  trial: number;
  bracket: number;
  status: TrialStatus;
  config: TrialConfig;
  dir: string;
  /** Per rung: resource, validation accuracy and loss, time. */
  results: {
    rung: number;
    resource: number;
    score: number;
    loss: number | null;
    steps: number | null;
    seconds: number;
  }[];
  error?: string;
}

export interface SearchResult {
  version: 1;
  scheduler: string;
  /** --configs and --min-trials as given (null: the scheduler's default); --resume needs them. */
  configs?: number | null;
  minTrials?: number | null;
  status: 'running' | 'finished';
  seed: number;
  eta: number;
  unit: Exclude<TimeUnit, 'dur'>;
  minResource: number;
  maxResource: number;
  workers: number;
  /**
   * anneal-cpu's threads in each local worker thread (workerThreads); null on another backend,
   * or when the trials ran on another executor (a queue's workers choose their own).
   */
  threadsPerWorker: number | null;
  valFraction: number;
  space: SearchSpace;
  baseRecipe: Recipe;
  trials: TrialRecord[];
  /** Trials per rung (the data of a search-progress chart). */
  rungs: RungProgress[];
  best: { trial: number; score: number; resource: number; config: TrialConfig } | null;
  /** Resource trained over all jobs (continuations count only their new part). */
  totalResource: number;
  seconds: number;
}

/** The resources in one unit; a bad or mixed pair is a one-line error. */
export function parseResources(
  maxText: string,
  minText: string | undefined,
  eta: number,
): { unit: Exclude<TimeUnit, 'dur'>; min: number; max: number } {
  const max = parseDuration(maxText);
  if (max.unit === 'dur' || !(max.value > 0)) {
    throw new UsageError(
      'ANNEAL_BAD_SEARCH',
      `max resource ${JSON.stringify(maxText)} is not valid: expected a positive duration in ep, ba or sp, e.g. '8ep'`,
    );
  }
  const min =
    minText === undefined
      ? { value: max.value / eta ** 2, unit: max.unit }
      : parseDuration(minText);
  if (min.unit !== max.unit) {
    throw new UsageError(
      'ANNEAL_BAD_SEARCH',
      `min resource '${formatDuration(min)}' and max resource '${formatDuration(max)}' are in different units: give both in ${max.unit}`,
    );
  }
  if (!(min.value > 0 && min.value <= max.value)) {
    throw new UsageError(
      'ANNEAL_BAD_SEARCH',
      `min resource '${formatDuration(min)}' is not valid: expected 0 < min <= max resource '${formatDuration(max)}'`,
    );
  }
  return { unit: max.unit, min: min.value, max: max.value };
}

/**
 * Refuses, before any trial is queued, what would fail every trial: a base recipe whose Trainer
 * cannot be built (a bad schedule or method option, blurpool on an MLP), and a smallest job of
 * less than one step (the first rung, and for schedulers that continue a trial from its last
 * rung, the step from one rung to the next: min * (eta - 1)). A space that changes the batch
 * size, the data or the methods is still checked trial by trial.
 */
async function checkBaseRecipe(
  opts: Pick<SearchOptions, 'base' | 'scheduler'>,
  resources: { unit: TimeUnit; min: number },
  eta: number,
  valFraction: number,
  splitSeed: number,
): Promise<EngineState> {
  const { base } = opts;
  const { train, val, model, engine } = await trialData(base, valFraction, splitSeed);
  try {
    new Trainer(recipeTrainerOptions(base, { train, test: val, model })).dispose();
  } finally {
    model.dispose();
  }
  const probe = timelineOf(train, base);
  const continues = opts.scheduler !== 'morl';
  const smallest = resources.min * (continues ? Math.min(1, eta - 1) : 1);
  if (probe.toSteps({ value: smallest, unit: resources.unit }) < 1) {
    const show = (x: number) => `${Number(x.toPrecision(4))}${resources.unit}`;
    const what =
      smallest === resources.min
        ? `min resource ${show(resources.min)}`
        : `the step between rungs (${show(resources.min)} x (eta ${eta} - 1) = ${show(smallest)})`;
    throw new UsageError(
      'ANNEAL_BAD_SEARCH',
      `${what} is less than one step of the base recipe ` +
        `(${probe.stepsPerEpoch} steps an epoch of ${train.length} samples at batch size ${base.batchSize}): ` +
        `raise --min-resource${smallest === resources.min ? '' : ' or --eta'}`,
    );
  }
  return engine;
}

/**
 * anneal-cpu's threads in each of `workers` worker threads: `threads` (else ANNEAL_THREADS, else
 * every core) divided among them, at least 1. OpenMP keeps a thread count per calling thread, and
 * each worker thread runs its own kernels, so without this each worker would take every core.
 */
export function workerThreads(threads: number | undefined, workers: number): number {
  return Math.max(1, Math.floor(resolveThreads(threads) / workers));
}

/** The worker-thread entry: worker.js next to this file, or worker.ts when run from source. */
export function workerEntry(): URL {
  return workerModule(import.meta.url, 'worker');
}

export function trialDir(out: string, trial: number): string {
  return join(out, 'trials', `trial-${String(trial).padStart(3, '0')}`);
}

/** Runs a search to the end and returns (and writes) its record. */
export async function runSearch(opts: SearchOptions): Promise<SearchResult> {
  return search(opts, null);
}

export interface ResumeSearchOptions extends Pick<
  SearchOptions,
  'workers' | 'executor' | 'onUpdate' | 'journal'
> {
  /** The queue's copy of the journal: the longer of it and the run directory's is replayed. */
  queueJournal?: JournalEvent[];
}

/**
 * Continues a killed search in `out` with the settings it was started with (search.json): the
 * journal is replayed into a fresh scheduler, finished jobs are not run again, and the jobs that
 * were running start again from their trials' last checkpoints. `workers` may differ.
 */
export async function resumeSearch(
  out: string,
  opts: ResumeSearchOptions = {},
): Promise<SearchResult> {
  if (readRunMarker(out)?.command !== 'search') {
    throw new UsageError(
      'ANNEAL_RESUME',
      `cannot resume ${out}: it is not a search directory (no ${RUN_MARKER} of \`anneal search\`); ` +
        'pass the --out of the search to continue',
    );
  }
  const saved = JSON.parse(readFileSync(join(out, 'search.json'), 'utf8')) as SearchResult;
  let events = readJournal(out);
  if (opts.queueJournal) {
    events = longerJournal(events, opts.queueJournal);
    // The queue's copy missed the last events before the kill: give it them, in order.
    for (const e of events.slice(opts.queueJournal.length)) await opts.journal?.append(e);
  }
  return search(
    {
      space: saved.space,
      base: saved.baseRecipe,
      scheduler: saved.scheduler,
      maxResource: `${saved.maxResource}${saved.unit}`,
      minResource: `${saved.minResource}${saved.unit}`,
      eta: saved.eta,
      configs: saved.configs ?? undefined,
      minTrials: saved.minTrials ?? undefined,
      workers: opts.workers ?? saved.workers,
      seed: saved.seed,
      valFraction: saved.valFraction,
      out,
      executor: opts.executor,
      onUpdate: opts.onUpdate,
      journal: opts.journal,
    },
    { events, seconds: saved.seconds },
  );
}

async function search(
  opts: SearchOptions,
  resume: { events: JournalEvent[]; seconds: number } | null,
): Promise<SearchResult> {
  const eta = opts.eta ?? 3;
  const seed = opts.seed ?? 0;
  const workers = opts.workers ?? 1;
  const valFraction = opts.valFraction ?? 0.1;
  if (!(valFraction > 0 && valFraction < 1)) {
    throw new UsageError(
      'ANNEAL_BAD_SEARCH',
      `validation fraction ${valFraction} is not valid: expected a number in (0, 1), e.g. 0.1`,
    );
  }
  const resources = parseResources(opts.maxResource, opts.minResource, eta);
  if (opts.scheduler === 'hyperband' && opts.configs !== undefined) {
    throw new UsageError(
      'ANNEAL_BAD_SEARCH',
      `configs = ${opts.configs} cannot be given to hyperband: its brackets fix the number of ` +
        'configurations from the resources and eta; drop --configs or use sha, morl, asha or median',
    );
  }
  const varying = opts.base.methods.use
    .map((m) => (typeof m === 'string' ? m : m.name))
    .filter(variesBatchSize);
  if (varying.length > 0) {
    throw new UsageError(
      'ANNEAL_BAD_SEARCH',
      `method ${varying.join(', ')} cannot be searched: it varies the batch size over the whole ` +
        "run, while a search's rungs are steps of one batch size; search without it",
    );
  }
  if (opts.minTrials !== undefined && opts.scheduler !== 'median') {
    throw new UsageError(
      'ANNEAL_BAD_SEARCH',
      `minTrials = ${opts.minTrials} is an option of the median stopping rule, not of ` +
        `${opts.scheduler}: drop --min-trials or use --scheduler median`,
    );
  }
  const scheduler: Scheduler = createScheduler(opts.scheduler, {
    minResource: resources.min,
    maxResource: resources.max,
    eta,
    configs: opts.configs,
    minTrials: opts.minTrials,
  });
  const engine = await checkBaseRecipe(opts, resources, eta, valFraction, seed);
  // Worker threads on this machine share its cores; a queue's workers decide on their own machines.
  const local = opts.executor === undefined || opts.executor instanceof WorkerPool;
  const threadsPerWorker = local ? workerThreads(opts.base.threads, workers) : null;
  const base: Recipe = local ? { ...opts.base, threads: threadsPerWorker! } : opts.base;
  if (!resume)
    openRunDir(opts.out, { command: 'search', overwrite: opts.overwrite, resumable: true });
  const journal = new Journal(opts.out, resume?.events, opts.journal, (e) =>
    console.error(`anneal search: the queue's journal copy missed an event: ${String(e)}`),
  );
  const resumed = resume ? replayJournal(scheduler, resume.events) : [];

  const configs = new Map<number, TrialConfig>();
  const details = new Map<string, { loss: number | null; steps: number | null; seconds: number }>();
  let totalResource = 0;
  for (const e of journal.events) {
    if (e.type !== 'report') continue;
    totalResource += e.job.resource - e.job.from;
    if (e.detail) details.set(`${e.job.trial}/${e.job.rung}`, e.detail);
  }
  const started = performance.now();
  const elapsed = () => (resume?.seconds ?? 0) + (performance.now() - started) / 1000;
  const configOf = (trial: number) => {
    let c = configs.get(trial);
    if (!c) configs.set(trial, (c = sampleConfig(opts.space, seed, trial)));
    return c;
  };

  const snapshot = (status: SearchResult['status']): SearchResult => {
    const trials = scheduler.trials().map((t) => ({
      trial: t.trial,
      bracket: t.bracket,
      status: t.status,
      config: configOf(t.trial),
      dir: trialDir(opts.out, t.trial),
      results: t.results.map((r) => ({
        ...r,
        ...(details.get(`${t.trial}/${r.rung}`) ?? { loss: null, steps: null, seconds: 0 }),
      })),
      ...(t.error !== undefined ? { error: t.error } : {}),
    }));
    const best = bestTrial(scheduler.trials());
    return {
      version: 1,
      scheduler: scheduler.name,
      configs: opts.configs ?? null,
      minTrials: opts.minTrials ?? null,
      status,
      seed,
      eta,
      unit: resources.unit,
      minResource: resources.min,
      maxResource: resources.max,
      workers,
      threadsPerWorker: engine.threads === null ? null : threadsPerWorker,
      valFraction,
      space: opts.space,
      baseRecipe: opts.base,
      trials,
      rungs: scheduler.progress(),
      best: best && { ...best, config: configOf(best.trial) },
      totalResource,
      seconds: elapsed(),
    };
  };
  const write = (s: SearchResult) => writeJsonAtomic(join(opts.out, 'search.json'), s);

  const pool = opts.executor
    ? null
    : new WorkerPool<TrialRequest, TrialResult>(workers, workerEntry());
  const executor = opts.executor ?? pool!;
  try {
    await drive(
      scheduler,
      async (job) => {
        const config = configOf(job.trial);
        const recipe = applyConfig(base, config, `trial ${job.trial}`);
        const result = await executor.run(
          {
            job,
            recipe,
            dir: trialDir(opts.out, job.trial),
            unit: resources.unit,
            maxResource: resources.max,
            valFraction,
            splitSeed: seed,
            config,
          },
          // Stable: a queue keeps one job per id, so a resumed search finds its jobs again.
          { id: `${basename(trialDir('', job.trial))}/rung-${job.rung}` },
        );
        details.set(`${job.trial}/${job.rung}`, {
          loss: result.loss,
          steps: result.steps,
          seconds: result.trainSeconds,
        });
        return result.score;
      },
      {
        workers,
        resumed,
        onStart: (job) => {
          journal.append({ type: 'start', job });
          opts.onUpdate?.(snapshot('running'), { type: 'start', job }, executor.status?.());
        },
        onReport: (job, outcome) => {
          journal.append({
            type: 'report',
            job,
            outcome,
            detail: details.get(`${job.trial}/${job.rung}`) ?? null,
            elapsed: elapsed(),
          });
          totalResource += job.resource - job.from;
          const s = snapshot('running');
          write(s);
          opts.onUpdate?.(
            s,
            { type: 'report', job, ...('error' in outcome ? { error: outcome.error } : {}) },
            executor.status?.(),
          );
        },
      },
    );
  } finally {
    await pool?.close();
  }
  const final = snapshot('finished');
  write(final);
  opts.onUpdate?.(final, { type: 'done' });
  return final;
}

/**
 * The resource the whole search will train when every planned job runs (SHA, Hyperband, MORL:
 * each rung's planned trials times its step from the previous rung), or null for the
 * schedulers without a plan (ASHA, median stopping). A progress line's ETA comes from it.
 */
export function plannedResource(rungs: readonly RungProgress[]): number | null {
  let total = 0;
  for (const r of rungs) {
    if (r.planned === null) return null;
    const previous = rungs.find((p) => p.bracket === r.bracket && p.rung === r.rung - 1);
    total += r.planned * (r.resource - (previous?.resource ?? 0));
  }
  return total;
}

/** Trials per rung, one row per (bracket, rung): the data of a search-progress chart. */
export function searchProgress(result: Pick<SearchResult, 'rungs' | 'unit'>): (RungProgress & {
  unit: string;
})[] {
  return result.rungs.map((r) => ({ ...r, unit: result.unit }));
}

/** One trial's score at one rung, with whether it went on: the points of a search chart. */
export interface SearchChartPoint {
  trial: number;
  bracket: number;
  rung: number;
  resource: number;
  score: number;
  /** Went on to the next rung; undefined at a trial's last rung while that is open or final. */
  promoted?: boolean;
}

/** Every (trial, rung) score as plain records (src/report's searchProgressChart takes them). */
export function searchChartPoints(result: Pick<SearchResult, 'trials'>): SearchChartPoint[] {
  return result.trials.flatMap((t) =>
    t.results.map((r, i) => {
      const last = i === t.results.length - 1;
      const promoted = !last
        ? true
        : t.status === 'stopped'
          ? false
          : t.status === 'promoted' || t.status === 'running'
            ? true
            : undefined;
      return {
        trial: t.trial,
        bracket: t.bracket,
        rung: r.rung,
        resource: r.resource,
        score: r.score,
        ...(promoted === undefined ? {} : { promoted }),
      };
    }),
  );
}

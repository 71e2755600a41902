/**
 * `anneal search`: a multi-fidelity hyper-parameter search (src/search) over a space of recipe
 * fields, trials trained in worker threads. Shows a live table of trials (redrawn on a terminal,
 * one line per finished job otherwise), ends with the final table and the best configuration,
 * and writes <out>/search.json and one directory per trial.
 */
import { formatPercent } from '../report/format.js';
import { join } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { EXIT_CODES, RunFailure, UsageError } from '../errors.js';
import {
  plannedResource,
  readSpaceFile,
  resumeSearch,
  runSearch,
  searchChartPoints,
  SCHEDULER_NAMES,
  type JournalEvent,
  type SearchEvent,
  type TrialRequest,
  type TrialResult,
  type SearchResult,
  type TrialRecord,
} from '../search/index.js';
import { checkPlan, FORCE_HELP, recipeDataBytes } from './plan.js';
import { oneOf, positiveInt } from './parse.js';
import {
  addRecipeOptions,
  DATA_FLAGS,
  recipeFromOptions,
  type RecipeFlagValues,
} from './recipe-flags.js';
import { maxOf } from '../stats.js';
import type { ExecutorStatus } from '../runs/executor.js';
import { addQueueOptions, openQueueExecutor, type QueueFlagValues } from './queue-flags.js';

interface SearchCommandOptions extends RecipeFlagValues, QueueFlagValues {
  recipe?: string;
  space?: string;
  resume?: string;
  scheduler: string;
  maxResource: string;
  minResource?: string;
  eta: number;
  configs?: number;
  minTrials?: number;
  workers: number;
  searchSeed: number;
  valFraction: number;
  out: string;
  overwrite: boolean;
  live: boolean;
  force: boolean;
  report: boolean;
}

function etaValue(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 1)
    throw new InvalidArgumentError('expected a number > 1, e.g. 3.');
  return n;
}

function fraction(value: string): number {
  const n = Number(value);
  if (!(n > 0 && n < 1)) throw new InvalidArgumentError('expected a number in (0, 1), e.g. 0.1.');
  return n;
}

function seedValue(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected an integer >= 0.');
  return n;
}

/** Adds `anneal search` to the program. */
export function addSearchCommand(program: Command): Command {
  const command = program
    .command('search')
    .description(
      'multi-fidelity hyper-parameter search (successive halving, Hyperband, ASHA, median stopping, ' +
        'MORL) over recipe fields; trials scored on a validation split of the training data; ' +
        'writes <out>/search.json and <out>/trials/',
    );
  addRecipeOptions(command, [
    // search's own --val-fraction holds out training data to score trials: the dataset's split
    // fraction is data.valFraction in a --recipe there.
    ...DATA_FLAGS.filter((f) => f !== 'valFraction'),
    'limit',
    'model',
    'optimizer',
    'lr',
    'weightDecay',
    'schedule',
    'methods',
    'batchSize',
    'backend',
    'threads',
    'kernels',
  ])
    .option(
      '--space <file>',
      'search space JSON: { "optimizer.lr": { "type": "loguniform", "low": 1e-4, "high": 0.1 }, ... }',
    )
    .option(
      '--resume <dir>',
      'continue a killed search in <dir> with the settings it was started with: finished jobs are ' +
        'not run again, running ones resume their checkpoints (--workers may change)',
    )
    .addOption(
      new Option('--scheduler <name>', `scheduler: ${SCHEDULER_NAMES.join(', ')}`)
        .argParser(oneOf(SCHEDULER_NAMES))
        .default('hyperband'),
    )
    .option('--max-resource <time>', "a trial's largest budget: '8ep', '2000ba', '64000sp'", '8ep')
    .option('--min-resource <time>', 'the smallest budget (same unit; default max / eta^2)')
    .option('--eta <x>', 'reduction factor: keep the best 1/eta at each rung', etaValue, 3)
    .option(
      '--configs <n>',
      'configurations (sha, morl, asha, median; default eta^s_max)',
      positiveInt,
    )
    .option(
      '--min-trials <n>',
      'median: other trials a rung needs before the rule stops anyone (default 3)',
      positiveInt,
    )
    .option(
      '--workers <n>',
      `trials trained in parallel, each in its own worker thread; with --redis, the jobs kept on the queue at once (default ${QUEUED_JOBS} there: make it the sum of your workers' --concurrency)`,
      positiveInt,
      1,
    )
    .option('--seed <n>', 'seeds the sampled configurations and the validation split', seedValue, 0)
    .option('--val-fraction <x>', 'training data held out to score the trials', fraction, 0.1)
    .option('--out <dir>', 'search directory to write', 'runs/search')
    .option('--overwrite', 'replace an existing search directory', false)
    .option('--no-live', 'no live table (one line per finished job instead)')
    .option(
      '--report',
      'also write <out>/report.html: trials per rung and scores across rungs',
      false,
    )
    .option('--force', FORCE_HELP, false);
  return addQueueOptions(command).action(searchCommand);
}

/** The flags --resume takes: the rest are the search's settings, kept from its first start. */
const RESUME_ONLY = new Set([
  'resume',
  'workers',
  'live',
  'report',
  'force',
  'redis',
  'redisCa',
  'queue',
  'sharedDir',
]);

/** Jobs kept on a queue at once when --workers is not given with --redis. */
const QUEUED_JOBS = 8;

export async function searchCommand(opts: SearchCommandOptions, command: Command): Promise<void> {
  const live = opts.live && process.stdout.isTTY === true;
  const table = new LiveTable(live);
  const workersGiven = command.getOptionValueSource('workers') === 'cli';
  const onUpdate = (snapshot: SearchResult, event: SearchEvent, status?: ExecutorStatus) =>
    table.update(snapshot, event, status);
  let result: SearchResult;
  let out: string;
  if (opts.resume !== undefined) {
    const fixed = command.options
      .map((o) => o.attributeName())
      .filter((name) => !RESUME_ONLY.has(name) && command.getOptionValueSource(name) === 'cli');
    if (fixed.length > 0) {
      const flags = command.options
        .filter((o) => fixed.includes(o.attributeName()))
        .map((o) => o.long);
      throw new UsageError(
        'ANNEAL_RESUME',
        `--resume continues ${opts.resume} with the settings it was started with: drop ${flags.join(', ')} ` +
          '(only --workers, --no-live and --report may be given), or start a new search with --out',
      );
    }
    out = opts.resume;
    const queue = await openQueueExecutor<TrialRequest, TrialResult>(opts, 'trial', out);
    try {
      result = await resumeSearch(out, {
        workers: workersGiven ? opts.workers : queue ? QUEUED_JOBS : undefined,
        onUpdate,
        ...(queue && {
          executor: queue,
          journal: queue.journal(),
          queueJournal: (await queue.journal().read()) as JournalEvent[],
        }),
      });
    } finally {
      await queue?.close();
    }
  } else {
    if (opts.space === undefined) {
      throw new UsageError(
        'ANNEAL_BAD_SEARCH',
        '--space <file> is required: the search space JSON (or --resume <dir> to continue a search)',
      );
    }
    // --seed of this command seeds the search; the recipe's own seed comes from --recipe. Its
    // --val-fraction scores the trials: the dataset's own split fraction is the recipe's.
    const {
      seed,
      valFraction: _scoring,
      ...flags
    } = opts as SearchCommandOptions & {
      seed: number;
    };
    const base = recipeFromOptions(flags);
    checkPlan({ bytes: recipeDataBytes(base) }, opts.force);
    const space = readSpaceFile(opts.space, base);
    out = opts.out;
    // Connected before anything is written: an unreachable Redis leaves no directory behind.
    const queue = await openQueueExecutor<TrialRequest, TrialResult>(opts, 'trial', out);
    try {
      result = await runSearch({
        space,
        base,
        scheduler: opts.scheduler,
        maxResource: opts.maxResource,
        minResource: opts.minResource,
        eta: opts.eta,
        configs: opts.configs,
        minTrials: opts.minTrials,
        workers: opts.workers,
        seed,
        valFraction: opts.valFraction,
        out,
        overwrite: opts.overwrite,
        onUpdate,
        ...(queue && {
          executor: queue,
          workers: workersGiven ? opts.workers : QUEUED_JOBS,
          // Taken at the first event, once runSearch has marked the directory (the run id).
          journal: { append: (e: JournalEvent) => queue.journal().append(e) },
        }),
      });
    } finally {
      await queue?.close();
    }
  }
  table.clear();
  console.log(renderTable(result, Infinity));
  const failed = result.trials.filter((t) => t.status === 'failed').length;
  console.log(
    `${result.trials.length} trials (${failed} failed), ${fmt(result.totalResource)}${result.unit} trained in ` +
      `${result.seconds.toFixed(1)} s with ${result.workers} worker${result.workers > 1 ? 's' : ''}`,
  );
  if (result.best) {
    console.log(
      `best: trial ${result.best.trial}, validation accuracy ${formatPercent(result.best.score)} at ` +
        `${fmt(result.best.resource)}${result.unit}: ${formatConfig(result.best.config)}`,
    );
  } else {
    console.log('best: none (every trial failed)');
  }
  if (result.trials.length > 0 && failed === result.trials.length) {
    const first = result.trials.find((t) => t.error !== undefined)?.error ?? 'no error recorded';
    throw new RunFailure(
      'ANNEAL_ALL_TRIALS_FAILED',
      `every one of the ${failed} trials failed (the first: ${first}); see ${out}/trials`,
      EXIT_CODES.allTrialsFailed,
    );
  }
  if (opts.report) console.log(`report: ${await writeReport(result, out)}`);
  console.log(`search directory: ${out}`);
}

/** <out>/report.html with the search-progress chart and the trials table. */
async function writeReport(result: SearchResult, out: string): Promise<string> {
  // Loaded only when asked: the report module brings vega along.
  const { renderSvg, searchProgressChart, writeHtmlReport } = await import('../report/index.js');
  const svg = await renderSvg(
    searchProgressChart(searchChartPoints(result), {
      title: `${result.scheduler}: trials per rung and validation accuracy`,
      scoreTitle: 'validation accuracy',
    }),
  );
  const unit = result.unit;
  return writeHtmlReport(join(out, 'report.html'), {
    title: `anneal search (${result.scheduler})`,
    summary: [
      {
        scheduler: result.scheduler,
        trials: result.trials.length,
        failed: result.trials.filter((t) => t.status === 'failed').length,
        [`trained (${unit})`]: Number(fmt(result.totalResource)),
        'time (s)': result.seconds,
        'best trial': result.best?.trial ?? null,
        'best validation accuracy': result.best?.score ?? null,
      },
    ],
    sections: [
      { title: 'Search progress', svg: [svg] },
      {
        title: 'Trials',
        table: result.trials.map((t) => {
          const last = lastResult(t);
          return {
            trial: t.trial,
            bracket: t.bracket,
            status: t.status,
            [unit]: last ? Number(fmt(last.resource)) : null,
            'validation accuracy': last?.score ?? null,
            ...Object.fromEntries(Object.entries(t.config).map(([k, v]) => [k, formatValue(v)])),
            error: t.error ?? null,
          };
        }),
      },
    ],
    data: result,
  });
}

const fmt = (x: number) => (Number.isInteger(x) ? String(x) : x.toPrecision(3));

function formatValue(v: unknown): string {
  return typeof v === 'number'
    ? Number.isInteger(v)
      ? String(v)
      : v.toPrecision(3)
    : JSON.stringify(v);
}

function formatConfig(config: Record<string, unknown>): string {
  return Object.entries(config)
    .map(([k, v]) => `${k}=${formatValue(v)}`)
    .join(' ');
}

function lastResult(t: TrialRecord) {
  return t.results[t.results.length - 1];
}

/** The trials as a text table: running first, then by resource reached and score. */
export function renderTable(result: SearchResult, maxRows: number): string {
  const paths = Object.keys(result.space).sort();
  const header = [
    'trial',
    'bracket',
    'status',
    'rung',
    result.unit,
    'validation accuracy',
    ...paths,
  ];
  const order = [...result.trials].sort((a, b) => {
    const ra = a.status === 'running' ? 1 : 0;
    const rb = b.status === 'running' ? 1 : 0;
    const la = lastResult(a);
    const lb = lastResult(b);
    return (
      rb - ra ||
      (lb?.resource ?? -1) - (la?.resource ?? -1) ||
      (lb?.score ?? -1) - (la?.score ?? -1) ||
      a.trial - b.trial
    );
  });
  const rows = order.slice(0, maxRows).map((t) => {
    const last = lastResult(t);
    return [
      String(t.trial),
      String(t.bracket),
      t.status,
      last ? String(last.rung) : '-',
      last ? fmt(last.resource) : '-',
      last ? formatPercent(last.score) : '-',
      ...paths.map((p) => formatValue(t.config[p])),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, maxOf(rows.map((r) => r[i].length))));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i])).join('  ');
  const more = order.length > maxRows ? [`... ${order.length - maxRows} more`] : [];
  return [line(header), ...rows.map(line), ...more].join('\n');
}

/**
 * One line on where the sweep is: jobs done, running, queued and failed, the workers, the resource
 * trained of what is planned, and an ETA at the rate so far (none for ASHA and median stopping,
 * which have no plan, or before the first job has finished).
 */
export function statusLine(snapshot: SearchResult, executor?: ExecutorStatus): string {
  const jobs = snapshot.trials.flatMap((t) => t.results).length;
  const failed = snapshot.trials.filter((t) => t.status === 'failed').length;
  const running = executor?.running ?? snapshot.trials.filter((t) => t.status === 'running').length;
  const parts = [`jobs: ${jobs} done, ${running} running`];
  if (executor && executor.queued > 0) parts[0] += `, ${executor.queued} queued`;
  parts[0] += `, ${failed} failed`;
  if (executor) parts.push(`${executor.workers} worker${executor.workers === 1 ? '' : 's'}`);
  const planned = plannedResource(snapshot.rungs);
  const done = snapshot.totalResource;
  parts.push(`${fmt(done)}${planned === null ? '' : `/${fmt(planned)}`} ${snapshot.unit} trained`);
  if (planned !== null && done > 0 && snapshot.seconds > 0) {
    const eta = Math.max(0, planned - done) / (done / snapshot.seconds);
    parts.push(`ETA ${formatEta(eta)}`);
  }
  return parts.join(' · ');
}

function formatEta(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Redraws the table in place on a terminal; otherwise prints a line per finished job. */
class LiveTable {
  private lines = 0;

  constructor(private readonly live: boolean) {}

  update(snapshot: SearchResult, event: SearchEvent, status?: ExecutorStatus): void {
    if (event.type === 'done') return;
    if (!this.live) {
      if (event.type !== 'report') return;
      this.printJob(snapshot, event);
      console.log(`  ${statusLine(snapshot, status)}`);
      return;
    }
    this.clear();
    const rows = Math.max(6, (process.stdout.rows ?? 30) - 5);
    const text = `${statusLine(snapshot, status)}\n${renderTable(snapshot, rows)}`;
    process.stdout.write(text + '\n');
    this.lines = text.split('\n').length;
  }

  private printJob(snapshot: SearchResult, event: Extract<SearchEvent, { type: 'report' }>): void {
    const { job } = event;
    const where = `trial ${job.trial} rung ${job.rung} (${fmt(job.resource)}${snapshot.unit})`;
    if (event.error !== undefined) {
      console.log(`${where}: failed: ${event.error}`);
      return;
    }
    const t = snapshot.trials.find((x) => x.trial === job.trial)!;
    console.log(
      `${where}: validation accuracy ${formatPercent(lastResult(t).score)} [${formatConfig(t.config)}] ${t.status}`,
    );
  }

  clear(): void {
    if (this.live && this.lines > 0) process.stdout.write(`\x1b[${this.lines}A\x1b[0J`);
    this.lines = 0;
  }
}

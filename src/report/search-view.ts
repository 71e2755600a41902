/**
 * Searches in the viewer: a folder `anneal search` made (its .anneal-run.json says 'search')
 * is a search; its search.json (rewritten atomically after every finished job) gives the
 * search's section (a title line, the search-progress chart, the trials table) and the status of
 * each trial directory under it (trials/trial-NNN), which the run list shows instead of the
 * status a trial's log suggests (a stopped trial's log ends short of its budget, like a run
 * still training).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readRunMarker } from '../runs/run-dir.js';
import {
  searchChartPoints,
  trialDir,
  type SearchResult,
  type TrialRecord,
} from '../search/search.js';
import { renderSvg, searchProgressChart } from './charts.js';
import { formatNumber, formatPercent } from './format.js';
import { renderSection, type TableRow } from './html.js';
import { isRunDir } from './runs.js';

export const SEARCH_FILE = 'search.json';

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Whether `anneal search` made this folder (its run marker says so). */
export function isSearchDir(path: string): boolean {
  return readRunMarker(path)?.command === 'search';
}

/**
 * The search folders at `dir` or below it (up to `depth` levels, as findRuns looks for runs; a
 * search's own trials/ and checkpoints/ and hidden folders are not searched), sorted by path.
 */
export function findSearches(dir: string, depth = 3): string[] {
  if (!isDir(dir)) return [];
  if (isSearchDir(dir)) return [dir];
  if (depth === 0 || isRunDir(dir)) return [];
  const found: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (name.startsWith('.') || name === 'checkpoints' || name === 'node_modules') continue;
    const path = join(dir, name);
    if (isDir(path)) found.push(...findSearches(path, depth - 1));
  }
  return found;
}

/**
 * The trial directories of a search (trials/trial-NNN holding a run), by trial number: only
 * those named as the search names them (trialDir), sorted by number.
 */
export function searchTrialDirs(searchPath: string): Map<number, string> {
  const trials = new Map<number, string>();
  const dir = join(searchPath, 'trials');
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return trials;
  }
  for (const name of names) {
    const m = /^trial-(\d+)$/.exec(name);
    if (!m) continue;
    const trial = Number(m[1]);
    const path = join(dir, name);
    if (resolve(trialDir(searchPath, trial)) !== resolve(path) || !isRunDir(path)) continue;
    trials.set(trial, path);
  }
  return new Map([...trials].sort((a, b) => a[0] - b[0]));
}

/** What search.json's size, time and inode say: changed whenever a job's report rewrites it. */
export function searchFingerprint(searchPath: string): string {
  try {
    const st = statSync(join(searchPath, SEARCH_FILE));
    return `${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch {
    return '-';
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A search's record, or null while it has none (no job has finished yet). Throws, with a
 * message saying what is wrong, when search.json is not readable JSON or not a search record.
 */
export function readSearch(searchPath: string): SearchResult | null {
  const path = join(searchPath, SEARCH_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new Error(`${path} is not readable JSON (${(e as Error).message})`);
  }
  const bad = (what: string) => new Error(`${path} is not a search record: ${what}`);
  if (!isObject(value)) throw bad('not an object');
  if (value.version !== 1) throw bad(`version ${JSON.stringify(value.version)}, expected 1`);
  if (typeof value.scheduler !== 'string') throw bad('no scheduler');
  if (value.status !== 'running' && value.status !== 'finished') throw bad('no status');
  if (typeof value.unit !== 'string') throw bad('no unit');
  if (!Array.isArray(value.trials)) throw bad('no trials');
  for (const t of value.trials as unknown[]) {
    if (
      !isObject(t) ||
      !Number.isInteger(t.trial) ||
      typeof t.status !== 'string' ||
      !isObject(t.config) ||
      !Array.isArray(t.results) ||
      !(t.results as unknown[]).every(
        (r) => isObject(r) && typeof r.rung === 'number' && typeof r.resource === 'number',
      )
    ) {
      throw bad(`a malformed trial (${JSON.stringify(t).slice(0, 80)})`);
    }
  }
  if (value.best !== null && value.best !== undefined && !isObject(value.best))
    throw bad('a malformed best trial');
  return value as unknown as SearchResult;
}

const lastResult = (t: TrialRecord) => t.results[t.results.length - 1];

const formatValue = (v: unknown): string =>
  typeof v === 'number' ? formatNumber(v) : typeof v === 'string' ? v : JSON.stringify(v);

/** What the run list and the viewer's API say about one search. */
export interface SearchSummary {
  /** The search's path relative to the runs folder ('.' for the folder itself). */
  name: string;
  scheduler: string | null;
  /** From search.json; 'running' too while no job has finished (no search.json yet). */
  status: 'running' | 'finished';
  trials: number;
  /** Trials that are out of the search: completed their last rung, or stopped. */
  done: number;
  failed: number;
  /** Jobs (a trial's rung) that finished. */
  jobs: number;
  best: { trial: number; score: number; run: string | null } | null;
  /** The section's title line. */
  title: string;
  /** The trials table: one row per trial. */
  table: TableRow[];
}

/**
 * The search's summary. `trialRun` names the viewer's run of a trial (its directory), or null
 * when the trial has no directory yet; `label` is how the title names the search (default its
 * name; the viewer gives the folder's own name when it serves the search folder itself, '.').
 */
export function searchSummary(
  name: string,
  result: SearchResult | null,
  trialRun: (trial: number) => string | null,
  label = name,
): SearchSummary {
  const trials = result?.trials ?? [];
  const done = trials.filter((t) => t.status === 'completed' || t.status === 'stopped').length;
  const failed = trials.filter((t) => t.status === 'failed').length;
  const best = result?.best ?? null;
  const status = result?.status ?? 'running';
  const parts = [
    `${result?.scheduler ?? 'search'}, ${status}`,
    result === null
      ? 'no job has finished yet'
      : `${done} of ${trials.length} trial${trials.length === 1 ? '' : 's'} done, ${failed} failed`,
  ];
  if (best) {
    parts.push(`best trial ${best.trial} (validation accuracy ${formatPercent(best.score)})`);
  }
  const unit = result?.unit ?? '';
  return {
    name,
    scheduler: result?.scheduler ?? null,
    status,
    trials: trials.length,
    done,
    failed,
    jobs: trials.reduce((n, t) => n + t.results.length, 0),
    best: best && { trial: best.trial, score: best.score, run: trialRun(best.trial) },
    title: `Search ${label}: ${parts.join('; ')}`,
    table: trials.map((t) => {
      const last = lastResult(t);
      return {
        trial: t.trial,
        bracket: t.bracket,
        status: t.status,
        rung: last?.rung ?? null,
        [`resource (${unit})`]: last?.resource ?? null,
        'validation accuracy': last?.score ?? null,
        ...Object.fromEntries(Object.entries(t.config).map(([k, v]) => [k, formatValue(v)])),
        ...(t.error !== undefined ? { error: t.error } : {}),
      };
    }),
  };
}

/** The search's section of the page: title, search-progress chart, trials table. */
export async function searchSectionHtml(
  summary: SearchSummary,
  result: SearchResult | null,
): Promise<string> {
  const points = result ? searchChartPoints(result) : [];
  const svg =
    points.length > 0
      ? await renderSvg(
          searchProgressChart(points, {
            title: `${result!.scheduler}: trials per rung and validation accuracy`,
            scoreTitle: 'validation accuracy',
          }),
        )
      : undefined;
  const text = [
    result
      ? `Trained ${formatNumber(result.totalResource)}${result.unit} in ${summary.jobs} job${summary.jobs === 1 ? '' : 's'}.`
      : '',
    svg ? '' : 'No trial has a score yet.',
  ]
    .filter((t) => t !== '')
    .join(' ');
  return renderSection({
    title: summary.title,
    text,
    svg: svg ? [svg] : undefined,
    table: summary.table,
  });
}

/** A trial directory's search (the search's name in the viewer) and trial number. */
export interface TrialOf {
  search: string;
  trial: number;
}

/**
 * A trial's run row with what its search says: the status from search.json (instead of the
 * log's 'running (k/n steps)'), its last rung's resource as the budget, and its validation
 * accuracy. `result` is undefined when the search's search.json could not be read.
 */
export function trialRow(
  row: TableRow,
  trial: number,
  result: SearchResult | null | undefined,
): TableRow {
  if (result === undefined) return { ...row, status: 'unknown (search.json unreadable)' };
  const record = result?.trials.find((t) => t.trial === trial);
  const last = record && lastResult(record);
  const steps = typeof last?.steps === 'number' ? `, ${last.steps} steps` : '';
  return {
    ...row,
    status:
      record?.status ??
      // Started after the last report, or before the first: not in search.json yet.
      (result === null || result.status === 'running' ? 'running' : 'not in search.json'),
    ...(last && result
      ? {
          budget: `rung ${last.rung}: ${formatNumber(last.resource)}${result.unit}${steps}`,
          'validation accuracy': last.score,
        }
      : {}),
  };
}

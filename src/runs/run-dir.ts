/**
 * A run directory holds everything one training run produced: config.json, log.jsonl,
 * metrics.csv, checkpoints/ (checkpoint-<step>.ck and `latest`) and summary.json. JSON files,
 * the CSV and checkpoints are written atomically; the log is append-only. An existing run is
 * never overwritten unless asked, and resuming one requires its config.json.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { UsageError } from '../errors.js';
import { writeFileAtomic } from '../train/atomic.js';
import { parseRecipe, type Recipe } from './recipe.js';

export interface RunDir {
  path: string;
  configPath: string;
  logPath: string;
  metricsPath: string;
  checkpointDir: string;
  summaryPath: string;
}

export function runDirPaths(path: string): RunDir {
  return {
    path,
    configPath: join(path, 'config.json'),
    logPath: join(path, 'log.jsonl'),
    metricsPath: join(path, 'metrics.csv'),
    checkpointDir: join(path, 'checkpoints'),
    summaryPath: join(path, 'summary.json'),
  };
}

/**
 * Creates (or with `overwrite`, empties) a run directory; with `resume`, opens an existing one
 * as it is.
 */
export function openRunDir(
  path: string,
  opts: { overwrite?: boolean; resume?: boolean; resumable?: boolean } = {},
): RunDir {
  const run = runDirPaths(path);
  if (opts.resume) {
    if (!existsSync(run.configPath)) {
      throw new UsageError(
        'ANNEAL_RUN_NOT_FOUND',
        `cannot resume ${path}: it has no config.json; pass the run directory an earlier ` +
          '`anneal train --out <dir>` wrote',
      );
    }
    return run;
  }
  if (existsSync(path) && readdirSync(path).length > 0) {
    if (!opts.overwrite) {
      throw new UsageError(
        'ANNEAL_RUN_EXISTS',
        `run directory ${path} already exists and is not empty; pass --overwrite to replace it, ` +
          `${opts.resumable === false ? '' : '--resume to continue it, '}or choose another --out`,
      );
    }
    rmSync(path, { recursive: true, force: true });
  }
  mkdirSync(path, { recursive: true });
  return run;
}

export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n');
}

/**
 * The run directory a checkpoint file belongs to: the first of `given` (what the user passed),
 * the file's directory and the one above (checkpoints/) that holds a config.json.
 */
export function runDirOfCheckpoint(checkpointFile: string, given?: string): string {
  const candidates = [
    ...(given === undefined ? [] : [given]),
    dirname(checkpointFile),
    dirname(dirname(checkpointFile)),
  ];
  const found = candidates.find((d) => existsSync(join(d, 'config.json')));
  if (!found) {
    throw new UsageError(
      'ANNEAL_RUN_NOT_FOUND',
      `cannot find the config.json of the run ${checkpointFile} belongs to (looked in ` +
        `${[...new Set(candidates)].join(', ')}); pass a checkpoint of an \`anneal train\` run directory`,
    );
  }
  return found;
}

/** The recipe a run directory's config.json keeps, checked by the recipe schema. */
export function readRunRecipe(runDir: string): Recipe {
  const { configPath } = runDirPaths(runDir);
  let saved: unknown;
  try {
    saved = (JSON.parse(readFileSync(configPath, 'utf8')) as { recipe?: unknown }).recipe;
  } catch (e) {
    throw new UsageError(
      'ANNEAL_RUN_NOT_FOUND',
      `${configPath} is not readable JSON (${(e as Error).message}); pass a run directory \`anneal train\` wrote`,
    );
  }
  return parseRecipe(saved, { source: `the recipe in ${configPath}` });
}

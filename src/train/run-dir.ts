/**
 * A run directory holds everything one training run produced: config.json, log.jsonl,
 * metrics.csv, checkpoints/ (checkpoint-<step>.ck and `latest`) and summary.json. JSON files,
 * the CSV and checkpoints are written atomically; the log is append-only. An existing run is
 * never overwritten unless asked, and resuming one requires its config.json.
 */
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { writeFileAtomic } from './atomic.js';

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
  opts: { overwrite?: boolean; resume?: boolean } = {},
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
          '--resume to continue it, or choose another --out',
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

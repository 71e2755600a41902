/**
 * A run directory holds everything one training run produced: config.json, log.jsonl,
 * checkpoint.ck and summary.json. JSON files and checkpoints are written atomically; the log is
 * append-only. An existing run is never overwritten unless asked.
 */
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { writeFileAtomic } from './atomic.js';

export interface RunDir {
  path: string;
  configPath: string;
  logPath: string;
  checkpointPath: string;
  summaryPath: string;
}

export function openRunDir(path: string, opts: { overwrite?: boolean } = {}): RunDir {
  if (existsSync(path) && readdirSync(path).length > 0) {
    if (!opts.overwrite) {
      throw new UsageError(
        'ANNEAL_RUN_EXISTS',
        `run directory ${path} already exists and is not empty; pass --overwrite to replace it or choose another --out`,
      );
    }
    rmSync(path, { recursive: true, force: true });
  }
  mkdirSync(path, { recursive: true });
  return {
    path,
    configPath: join(path, 'config.json'),
    logPath: join(path, 'log.jsonl'),
    checkpointPath: join(path, 'checkpoint.ck'),
    summaryPath: join(path, 'summary.json'),
  };
}

export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n');
}

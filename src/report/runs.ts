/**
 * Reading run directories for reports and the viewer: what a run is (a directory holding
 * config.json, log.jsonl or summary.json, as `anneal train` writes), finding runs under a
 * folder, and loading one (tolerating a run still being written: no summary yet, a torn last
 * log line).
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, join, normalize, relative, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { runDirPaths } from '../runs/run-dir.js';
import { readJsonl } from '../logs/jsonl.js';

/** A JSON object as read from a file: fields are checked where they are used. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export interface RunData {
  /** How the run is named in tables and legends (its path relative to the folder searched). */
  name: string;
  path: string;
  config?: Json;
  summary?: Json;
  log: Record<string, unknown>[];
  /** The names of the files directly in the run directory. */
  files: string[];
}

const RUN_FILES = ['config.json', 'log.jsonl', 'summary.json'];

export function isRunDir(path: string): boolean {
  return RUN_FILES.some((f) => existsSync(join(path, f)));
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The run directories at `dir` or below it (up to `depth` levels; checkpoints/ and hidden
 * folders are not searched), sorted by path.
 */
export function findRuns(dir: string, depth = 3): string[] {
  if (!isDir(dir)) return [];
  if (isRunDir(dir)) return [dir];
  if (depth === 0) return [];
  const found: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (name.startsWith('.') || name === 'checkpoints' || name === 'node_modules') continue;
    const path = join(dir, name);
    if (isDir(path)) found.push(...findRuns(path, depth - 1));
  }
  return found;
}

function readJsonFile(path: string): Json | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new UsageError(
      'ANNEAL_REPORT_BAD_FILE',
      `${path} is not readable JSON (${(e as Error).message}); fix or remove it`,
    );
  }
}

/** Loads one run directory; `name` defaults to the directory's name. */
export function loadRun(path: string, name = basename(resolve(path))): RunData {
  const paths = runDirPaths(path);
  return {
    name,
    path,
    config: readJsonFile(paths.configPath),
    summary: readJsonFile(paths.summaryPath),
    log: existsSync(paths.logPath) ? readJsonl(paths.logPath) : [],
    files: readdirSync(path).sort(),
  };
}

/**
 * The runs named on a command line: each argument is a run directory or a folder of runs.
 * A run is named by its directory's name, or its path inside the folder given, or (when that
 * name is taken) its path as given. Naming one run twice is refused.
 */
export function resolveRuns(args: readonly string[]): { path: string; name: string }[] {
  const runs: { path: string; name: string }[] = [];
  for (const arg of args) {
    if (!isDir(arg)) {
      throw new UsageError(
        'ANNEAL_REPORT_NO_RUN',
        `${arg} is not a directory; pass run directories written by \`anneal train --out <dir>\` (or a folder of them)`,
      );
    }
    const found = findRuns(arg);
    if (found.length === 0) {
      throw new UsageError(
        'ANNEAL_REPORT_NO_RUN',
        `${arg} holds no run (no config.json, log.jsonl or summary.json in it or its sub-folders); ` +
          'pass run directories written by `anneal train --out <dir>`',
      );
    }
    for (const path of found) {
      if (runs.some((r) => resolve(r.path) === resolve(path))) {
        throw new UsageError(
          'ANNEAL_REPORT_DUPLICATE_RUN',
          `run ${path} is named twice; name each run once`,
        );
      }
      const short = path === arg ? basename(resolve(path)) : relative(arg, path);
      runs.push({ path, name: runs.some((r) => r.name === short) ? normalize(path) : short });
    }
  }
  return runs;
}

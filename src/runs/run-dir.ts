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
import { checkOutDir } from './outputs.js';
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

/** The commands that make output directories; each marks its own (RUN_MARKER). */
export type RunCommand = 'train' | 'curve' | 'prune' | 'search';

/**
 * The file that marks a directory as made by an anneal command: `--overwrite` replaces only a
 * directory whose marker names the same command. Directories made before markers existed
 * have none and are refused like any other folder.
 */
export const RUN_MARKER = '.anneal-run.json';

export interface RunMarker {
  command: RunCommand;
  created: string;
}

/** The marker of a directory, or undefined when it has none (or an unreadable one). */
export function readRunMarker(path: string): RunMarker | undefined {
  try {
    const marker = JSON.parse(readFileSync(join(path, RUN_MARKER), 'utf8')) as Partial<RunMarker>;
    return typeof marker.command === 'string' ? (marker as RunMarker) : undefined;
  } catch {
    return undefined;
  }
}

export interface OpenRunDirOptions {
  /** The command that makes the directory: written into its marker, checked by `overwrite`. */
  command: RunCommand;
  overwrite?: boolean;
  resume?: boolean;
  /** False for commands without --resume: the refusal does not suggest it. */
  resumable?: boolean;
}

/**
 * Creates a run directory and marks it as `command`'s; with `overwrite`, first removes an
 * existing one, but only one that `command` made (it carries its marker). With `resume`, opens
 * an existing one as it is.
 */
export function openRunDir(path: string, opts: OpenRunDirOptions): RunDir {
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
  checkOutDir(path);
  if (existsSync(path) && readdirSync(path).length > 0) {
    if (!opts.overwrite) {
      throw new UsageError(
        'ANNEAL_RUN_EXISTS',
        `directory ${path} already exists and is not empty; pass --overwrite to replace it, ` +
          `${opts.resumable === false ? '' : '--resume to continue it, '}or choose another --out`,
      );
    }
    checkOverwritable(path, opts.command);
    rmSync(path, { recursive: true, force: true });
  }
  mkdirSync(path, { recursive: true });
  const marker: RunMarker = { command: opts.command, created: new Date().toISOString() };
  writeJsonAtomic(join(path, RUN_MARKER), marker);
  return run;
}

/** Refuses to replace a directory that `command` did not make. */
function checkOverwritable(path: string, command: RunCommand): void {
  const marker = readRunMarker(path);
  if (!marker) {
    throw new UsageError(
      'ANNEAL_NOT_A_RUN',
      `refusing to --overwrite ${path}: it has no ${RUN_MARKER}, so it was not made by ` +
        `\`anneal ${command}\` (or was made before anneal marked its directories); delete it yourself ` +
        'if it holds nothing you need, or choose another --out',
    );
  }
  if (marker.command !== command) {
    throw new UsageError(
      'ANNEAL_NOT_A_RUN',
      `refusing to --overwrite ${path}: it was made by \`anneal ${marker.command}\`, and ` +
        `\`anneal ${command} --overwrite\` replaces only its own directories; choose another --out`,
    );
  }
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

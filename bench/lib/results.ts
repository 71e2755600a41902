/**
 * Every experiment script writes one JSON file to bench/results/ with its configuration,
 * seeds, the git commit and the machine, so every results table can be regenerated from
 * those files (never typed by hand). Smoke runs (CI) write <name>.smoke.json, which git ignores.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { machine } from '../../src/machine.js';

export { machine, type Machine } from '../../src/machine.js';

export const resultsDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'results');

/** The commit the run measured, with '+dirty' when the tree had uncommitted changes. */
export function gitCommit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .toString()
      .trim();
    return dirty ? `${head}+dirty` : head;
  } catch {
    return 'uncommitted';
  }
}

/** Writes bench/results/<name>.json (or .smoke.json) atomically and returns its path. */
export function writeResult(name: string, data: object, opts: { smoke: boolean }): string {
  mkdirSync(resultsDir, { recursive: true });
  const path = join(resultsDir, `${name}${opts.smoke ? '.smoke' : ''}.json`);
  const record = {
    name,
    date: new Date().toISOString(),
    commit: gitCommit(),
    machine: machine(),
    smoke: opts.smoke,
    ...data,
  };
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(record, null, 2) + '\n');
  renameSync(tmp, path);
  return path;
}

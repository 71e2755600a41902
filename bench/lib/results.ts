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

/** The repository root (bench/lib/../..): git runs there, so a worktree answers for itself. */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

const git = (args: string[], cwd: string) =>
  execFileSync('git', args, { cwd, stdio: ['ignore', 'pipe', 'ignore'] })
    .toString()
    .trim();

/**
 * The commit the run measured, with '+dirty' when tracked files had uncommitted changes.
 * bench/results/ does not count: an earlier bench's rewritten JSON must not make the next
 * bench's result dirty. Untracked files do not count either. 'uncommitted' outside git.
 */
export function gitCommit(root = repoRoot): string {
  try {
    const head = git(['rev-parse', 'HEAD'], root);
    const dirty = git(
      ['status', '--porcelain', '--untracked-files=no', '--', '.', ':(exclude)bench/results'],
      root,
    );
    return dirty ? `${head}+dirty` : head;
  } catch {
    return 'uncommitted';
  }
}

/** What bench:tables requires of a result file's provenance (bench/README.md, "Protocol"). */
export interface ProvenanceFields {
  name: string;
  commit: string;
  /** Recorded before the evidence protocol: shown as such in its tables, and not checked. */
  legacy?: boolean;
}

/**
 * Why a result may not be published, or null when it may: its commit must be clean and an
 * ancestor of HEAD (`git merge-base --is-ancestor`); a legacy result is not checked. A commit
 * missing from this clone (a shallow clone, or an unpushed branch) fails too: the check needs
 * the full history, which CI's clean clone of main has.
 */
export function provenanceProblem(r: ProvenanceFields, root = repoRoot): string | null {
  if (r.legacy) return null;
  const file = `bench/results/${r.name}.json`;
  const match = /^([0-9a-f]{40})(\+dirty)?$/.exec(String(r.commit));
  if (!match) return `${file}: commit '${r.commit}' is not a git commit (run it in a git checkout)`;
  if (match[2]) {
    return `${file}: recorded on a dirty tree at ${match[1].slice(0, 10)} (rerun it from a clean worktree: bench/worktree.sh)`;
  }
  try {
    execFileSync('git', ['merge-base', '--is-ancestor', match[1], 'HEAD'], {
      cwd: root,
      stdio: 'ignore',
    });
    return null;
  } catch (e) {
    const status = (e as { status?: number }).status;
    if (status === 1) {
      return `${file}: commit ${match[1].slice(0, 10)} is not an ancestor of HEAD (recorded on another branch, or before a rebase)`;
    }
    return `${file}: commit ${match[1].slice(0, 10)} is not in this clone's history (a shallow clone, or never pushed): the check needs the full history`;
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

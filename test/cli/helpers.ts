/**
 * Running the `anneal` command as a user does (node + tsx on src/cli/main.ts, js kernels), and
 * the shape of a user error: exit 2, one line on stderr naming what was wrong, no stack.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { packageRoot } from '../../src/package-root.js';

export const root = packageRoot();

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function anneal(args: string[]): CommandResult {
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...args],
    { cwd: root, encoding: 'utf8', env: { ...process.env, ANNEAL_KERNELS: 'js' } },
  );
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A running `anneal` process (for commands that must be signalled or watched while they run). */
export interface Spawned {
  child: ChildProcessWithoutNullStreams;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** Starts `anneal <args>` as a user does, without waiting for it. */
export function spawnAnneal(args: string[]): Spawned {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...args],
    {
      cwd: root,
      env: { ...process.env, ANNEAL_KERNELS: 'js' },
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

/** Asserts a user error: exit 2, one line on stderr containing every fragment, no stack. */
export function assertUserError(r: CommandResult, ...fragments: string[]): void {
  assert.equal(r.code, 2, `expected exit 2, got ${r.code}; stderr: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `expected one line, got: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  for (const f of fragments) assert.ok(lines[0].includes(f), `'${f}' not in: ${lines[0]}`);
}

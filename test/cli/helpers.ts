/**
 * Running the `anneal` command as a user does (node + tsx on src/cli/main.ts, js kernels), and
 * the shape of a user error: exit 2, one line on stderr naming what was wrong, no stack.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
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

/** Asserts a user error: exit 2, one line on stderr containing every fragment, no stack. */
export function assertUserError(r: CommandResult, ...fragments: string[]): void {
  assert.equal(r.code, 2, `expected exit 2, got ${r.code}; stderr: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `expected one line, got: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  for (const f of fragments) assert.ok(lines[0].includes(f), `'${f}' not in: ${lines[0]}`);
}

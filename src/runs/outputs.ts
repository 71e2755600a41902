/**
 * Outputs are checked before any work starts, so a bad path fails in one line at once instead
 * of as a stack trace after the whole run. Files are replaced only with --overwrite; run
 * directories (run-dir.ts) are replaced only when their own command made them.
 */
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UsageError } from '../errors.js';

/**
 * Checks that `path` can take a new file: not a directory, not an existing file unless
 * `overwrite`, and its folder is (or can be made) a writable directory.
 */
export function checkOutFile(path: string, overwrite: boolean, flag = '--out'): void {
  if (existsSync(path)) {
    if (statSync(path).isDirectory()) {
      throw new UsageError(
        'ANNEAL_BAD_OUTPUT',
        `${flag} ${path} is a directory, expected a file name; pass a file path inside it, or another ${flag}`,
      );
    }
    if (!overwrite) {
      throw new UsageError(
        'ANNEAL_OUTPUT_EXISTS',
        `${flag} ${path} already exists; pass --overwrite to replace it, or choose another ${flag}`,
      );
    }
  }
  checkWritableDir(dirname(path), flag, path);
}

/** Checks that `dir` is (or can be made) a writable directory; makes nothing. */
export function checkOutDir(dir: string, flag = '--out'): void {
  if (existsSync(dir) && !statSync(dir).isDirectory()) {
    throw new UsageError(
      'ANNEAL_BAD_OUTPUT',
      `${flag} ${dir} is a file, expected a directory; choose another ${flag}`,
    );
  }
  checkWritableDir(dir, flag, dir);
}

/**
 * Checks that `dir` exists as a writable directory or can be made one, without making it: a
 * command that fails later must leave nothing behind. The nearest existing ancestor decides.
 */
function checkWritableDir(dir: string, flag: string, given: string): void {
  let existing = resolve(dir);
  while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing);
  const problem = !statSync(existing).isDirectory()
    ? `${existing} is a file`
    : writable(existing)
      ? undefined
      : `${existing} is not writable`;
  if (problem) {
    throw new UsageError(
      'ANNEAL_BAD_OUTPUT',
      `${flag} ${given}: cannot write there (${problem}); choose another ${flag}`,
    );
  }
}

function writable(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

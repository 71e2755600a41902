/**
 * Outputs are checked before any work starts, so a bad path fails in one line at once instead
 * of as a stack trace after the whole run. Files are replaced only with --overwrite (run
 * directories have their own rule: src/runs/run-dir.ts).
 */
import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { UsageError } from '../errors.js';

/**
 * Checks that `path` can take a new file: not a directory, not an existing file unless
 * `overwrite`, and its folder exists (made here if missing) and is writable.
 */
export function checkOutFile(path: string, overwrite: boolean, flag = '--out'): void {
  if (existsSync(path)) {
    if (statSync(path).isDirectory()) {
      throw new UsageError(
        'ANNEAL_BAD_OUTPUT',
        `${flag} ${path} is a directory, expected a file name; pass a path such as ${path}/out.json`,
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

/** Checks that `dir` is (or can be made) a writable directory. */
export function checkOutDir(dir: string, flag = '--out'): void {
  if (existsSync(dir) && !statSync(dir).isDirectory()) {
    throw new UsageError(
      'ANNEAL_BAD_OUTPUT',
      `${flag} ${dir} is a file, expected a directory; choose another ${flag}`,
    );
  }
  checkWritableDir(dir, flag, dir);
}

function checkWritableDir(dir: string, flag: string, given: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
  } catch (e) {
    throw new UsageError(
      'ANNEAL_BAD_OUTPUT',
      `${flag} ${given}: cannot write in ${dir} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); choose another ${flag}`,
    );
  }
}

/**
 * Atomic file writes: write a temp file beside the target, fsync it, rename it over the
 * target, fsync the directory. A kill at any point leaves either the old file or the new one,
 * never a torn one. A missing folder is made. The temp file is `.<name>.<pid>.tmp`; a failed write or rename removes it,
 * and one a killed writer left behind is removed by removeStaleTempFiles once its PID is dead.
 */
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname, basename, join } from 'node:path';

export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  // Outputs are checked before a command's work and their folders made only when written.
  mkdirSync(dirname(path), { recursive: true });
  const tmp = join(dirname(path), tempFileName(basename(path), process.pid));
  const fd = openSync(tmp, 'w');
  try {
    try {
      const bytes = typeof data === 'string' ? Buffer.from(data) : data;
      let written = 0;
      while (written < bytes.length) written += writeSync(fd, bytes, written);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    removeQuietly(tmp);
    throw e;
  }
  fsyncDir(dirname(path));
}

/** The name of the temp file process `pid` writes `name` through. */
export function tempFileName(name: string, pid: number): string {
  return `.${name}.${pid}.tmp`;
}

const TEMP_FILE = /^\.(.+)\.(\d+)\.tmp$/;

/**
 * Deletes the temp files in `dir` that writeFileAtomic left behind in a process that is gone:
 * `.<name>.<pid>.tmp` whose PID is not alive (and, with `target`, whose `<name>` it accepts).
 * A live writer's temp file, and anything not named so, is kept. Best effort: a file that
 * cannot be deleted is left. Returns the names deleted.
 */
export function removeStaleTempFiles(
  dir: string,
  target: (name: string) => boolean = () => true,
): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = TEMP_FILE.exec(name);
    if (!m || !target(m[1]) || isProcessAlive(Number(m[2]))) continue;
    if (removeQuietly(join(dir, name))) removed.push(name);
  }
  return removed;
}

/**
 * Whether a process `pid` exists (on this machine). Signal 0 only checks: ESRCH means there is
 * none, EPERM means there is one we may not signal. Anything that is not a plain PID (0 would
 * mean our process group) counts as alive, so its file is kept.
 */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid > 0x7fffffff) return true;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

function removeQuietly(path: string): boolean {
  try {
    unlinkSync(path);
    return true;
  } catch {
    return false;
  }
}

function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some filesystems refuse fsync on directories; the rename is still atomic.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

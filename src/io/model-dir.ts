/**
 * A model directory written as one unit: every file goes into a fresh temp directory beside the
 * target, is fsynced, and the temp directory is renamed onto the target (rename replaces a
 * missing or empty directory atomically). A directory anneal wrote before is swapped out the same
 * way; one anneal did not write (no MODEL_MARKER, or other files beside it) is refused and left
 * as it is, the way run directories are (src/runs/run-dir.ts).
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { isProcessAlive } from '../atomic.js';
import { UsageError } from '../errors.js';

/** Marks a directory as written by anneal's model saver and lists what it wrote. */
export const MODEL_MARKER = '.anneal-model.json';

export interface ModelMarker {
  /** Who wrote it: 'save' (saveModel, model.save('file://...')) or 'export' (anneal export). */
  writer: string;
  created: string;
  files: string[];
}

export interface WriteModelDirOptions {
  writer: string;
  /** Replace a directory anneal's model saver wrote (else only a new or empty one is taken). */
  overwrite?: boolean;
  /** How to name the directory in errors (default 'directory'); the CLI passes '--out'. */
  label?: string;
}

/** The marker of a model directory, or undefined when it has none or an unreadable one. */
export function readModelMarker(dir: string): ModelMarker | undefined {
  try {
    const m = JSON.parse(readFileSync(join(dir, MODEL_MARKER), 'utf8')) as Partial<ModelMarker>;
    return typeof m.writer === 'string' && Array.isArray(m.files) ? (m as ModelMarker) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Checks, without writing anything, that `dir` can take a model: it is new, empty, or (with
 * `overwrite`) holds only what anneal's saver wrote there.
 */
export function checkModelDir(dir: string, opts: WriteModelDirOptions): void {
  const label = opts.label ?? 'directory';
  if (!existsSync(dir)) return;
  if (!statSync(dir).isDirectory()) {
    throw new UsageError(
      'ANNEAL_BAD_OUTPUT',
      `${label} ${dir} is a file, expected a directory for model.json and its weight files; choose another ${label}`,
    );
  }
  const present = readdirSync(dir);
  if (present.length === 0) return;
  const marker = readModelMarker(dir);
  const foreign = marker
    ? present.filter((f) => f !== MODEL_MARKER && !marker.files.includes(f))
    : present;
  if (!marker || foreign.length > 0) {
    throw new UsageError(
      'ANNEAL_NOT_A_MODEL_DIR',
      `refusing to write a model into ${label} ${dir}: it holds files anneal did not write ` +
        `(${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', ...' : ''}); choose a new or empty directory`,
    );
  }
  if (!opts.overwrite) {
    throw new UsageError(
      'ANNEAL_OUTPUT_EXISTS',
      `${label} ${dir} already holds a model; pass --overwrite (overwrite: true) to replace it, or choose another ${label}`,
    );
  }
}

/** Writes `files` (name -> contents) as the directory `dir`, with the marker, in one swap. */
export function writeModelDir(
  dir: string,
  files: ReadonlyMap<string, Uint8Array | string>,
  opts: WriteModelDirOptions,
): void {
  checkModelDir(dir, opts);
  const target = resolve(dir);
  const parent = dirname(target);
  mkdirSync(parent, { recursive: true });
  removeStaleTempDirs(parent, basename(target));
  const tmp = join(parent, `.${basename(target)}.${process.pid}.tmp`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  try {
    const marker: ModelMarker = {
      writer: opts.writer,
      created: new Date().toISOString(),
      files: [...files.keys()],
    };
    for (const [name, data] of files) writeSynced(join(tmp, name), data);
    writeSynced(join(tmp, MODEL_MARKER), JSON.stringify(marker, null, 2) + '\n');
    fsyncPath(tmp);
    if (existsSync(target) && readdirSync(target).length > 0) {
      // An earlier model of anneal's (checked above): moved aside, replaced, then deleted.
      const old = join(parent, `.${basename(target)}.${process.pid}.old`);
      rmSync(old, { recursive: true, force: true });
      renameSync(target, old);
      renameSync(tmp, target);
      rmSync(old, { recursive: true, force: true });
    } else {
      renameSync(tmp, target);
    }
    fsyncPath(parent);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

/**
 * Removes the temp directories `.<name>.<pid>.tmp` that a killed save of `name` left in
 * `parent` (its PID is gone). A `.old` directory is kept: after a kill between the two renames
 * it is the only copy of the earlier model.
 */
function removeStaleTempDirs(parent: string, name: string): void {
  const pattern = new RegExp(`^\\.${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.(\\d+)\\.tmp$`);
  for (const entry of readdirSync(parent)) {
    const m = pattern.exec(entry);
    if (m && !isProcessAlive(Number(m[1])))
      rmSync(join(parent, entry), { recursive: true, force: true });
  }
}

function writeSynced(path: string, data: Uint8Array | string): void {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  const fd = openSync(path, 'w');
  try {
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function fsyncPath(path: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    fsyncSync(fd);
  } catch {
    // Some filesystems refuse fsync on directories; the rename is still atomic.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Checkpoint file format (one file, written atomically):
 *   8 bytes  magic "ANNEALCK"
 *   4 bytes  header length H (uint32 little-endian)
 *   H bytes  JSON header: { version, tensors: [{ name, shape, dtype, offset, length }], meta }
 *   padding to a multiple of 4, then the float32 data of every tensor (little-endian)
 *
 * A checkpoint directory holds `checkpoint-<step>.ck` files and a `latest` file naming the
 * newest one. A new checkpoint is written (atomically) before `latest` is switched to it
 * (atomically), and older ones beyond the newest K are deleted only after that, so a kill at any
 * moment leaves `latest` naming a complete checkpoint.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import { z } from 'zod';
import { AnnealError, UsageError } from '../errors.js';
import { removeStaleTempFiles, writeFileAtomic } from './atomic.js';

const MAGIC = 'ANNEALCK';
const VERSION = 1;

export interface NamedArray {
  name: string;
  shape: number[];
  data: Float32Array;
}

export interface CheckpointContents {
  tensors: NamedArray[];
  meta: Record<string, unknown>;
}

interface TensorEntry {
  name: string;
  shape: number[];
  dtype: 'float32';
  offset: number;
  length: number;
}

export function encodeCheckpoint(contents: CheckpointContents): Uint8Array {
  const entries: TensorEntry[] = [];
  let offset = 0;
  for (const t of contents.tensors) {
    const expected = t.shape.reduce((a, b) => a * b, 1);
    if (expected !== t.data.length) {
      throw new AnnealError(
        'ANNEAL_CHECKPOINT_SHAPE',
        `checkpoint tensor '${t.name}' has ${t.data.length} values but shape [${t.shape}] needs ${expected}`,
      );
    }
    entries.push({ name: t.name, shape: t.shape, dtype: 'float32', offset, length: t.data.length });
    offset += t.data.length;
  }
  const header = Buffer.from(
    JSON.stringify({ version: VERSION, tensors: entries, meta: contents.meta }),
  );
  const dataStart = align4(12 + header.length);
  const out = new Uint8Array(dataStart + offset * 4);
  out.set(Buffer.from(MAGIC), 0);
  new DataView(out.buffer).setUint32(8, header.length, true);
  out.set(header, 12);
  const data = new Float32Array(out.buffer, dataStart, offset);
  for (let i = 0; i < contents.tensors.length; i++)
    data.set(contents.tensors[i].data, entries[i].offset);
  return out;
}

/** The JSON header as written by encodeCheckpoint; anything else is a corrupt checkpoint. */
const TensorEntrySchema = z.object({
  name: z.string(),
  shape: z.array(z.number().int().nonnegative()),
  dtype: z.literal('float32'),
  offset: z.number().int().nonnegative(),
  length: z.number().int().nonnegative(),
});

const HeaderSchema = z.object({
  version: z.literal(VERSION),
  tensors: z.array(TensorEntrySchema),
  meta: z.record(z.string(), z.unknown()),
});

/** `tensors[0].shape` for the zod path ['tensors', 0, 'shape']. */
function fieldName(path: readonly PropertyKey[]): string {
  return path
    .map((k, i) => (typeof k === 'number' ? `[${k}]` : `${i === 0 ? '' : '.'}${String(k)}`))
    .join('');
}

/** A value shown in a message: JSON, cut short so the message stays one short line. */
function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const field = issue.path.length > 0 ? `header field ${fieldName(issue.path)}` : 'header';
  const received = 'input' in issue ? `, received ${shown(issue.input)}` : '';
  let expected: string;
  switch (issue.code) {
    case 'invalid_type':
      expected =
        issue.expected === 'int'
          ? 'an integer'
          : issue.expected === 'object' || issue.expected === 'record'
            ? 'a JSON object'
            : `${/^[aeiou]/.test(issue.expected) ? 'an' : 'a'} ${issue.expected}`;
      break;
    case 'invalid_value':
      expected = issue.values.map((v) => JSON.stringify(v)).join(' or ');
      break;
    case 'too_small':
      expected = `a number >= ${issue.minimum}`;
      break;
    default:
      expected = issue.message.replace(/^Invalid input: /, '');
  }
  return `${field}: expected ${expected}${received}`;
}

export function decodeCheckpoint(bytes: Uint8Array, source = 'checkpoint'): CheckpointContents {
  const corrupt = (why: string) =>
    new AnnealError(
      'ANNEAL_CHECKPOINT_CORRUPT',
      `${source} is not a valid anneal checkpoint (${why}); pass a file written by anneal train or re-run the training`,
    );
  if (bytes.length < 12 || Buffer.from(bytes.subarray(0, 8)).toString() !== MAGIC)
    throw corrupt('bad magic');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(8, true);
  if (12 + headerLength > bytes.length) throw corrupt('truncated header');
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(bytes.subarray(12, 12 + headerLength)).toString());
  } catch {
    throw corrupt('unreadable header');
  }
  const version = (raw as { version?: unknown } | null)?.version;
  if (raw !== null && typeof raw === 'object' && !Array.isArray(raw) && version !== VERSION)
    throw corrupt(`version ${shown(version)}, expected ${VERSION}`);
  const parsed = HeaderSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) throw corrupt(describeIssue(parsed.error.issues[0]));
  const header = parsed.data;

  // Every tensor's shape must hold its values, and its values must lie in the data part of the
  // file without overlapping another tensor's.
  const named = (i: number) => `tensors[${i}] (${shown(header.tensors[i].name)})`;
  header.tensors.forEach((t, i) => {
    const expected = t.shape.reduce((a, b) => a * b, 1);
    if (expected !== t.length) {
      throw corrupt(
        `header field ${named(i)}.shape: [${t.shape}] holds ${expected} values, ` +
          `expected a shape of ${t.length} values (its length)`,
      );
    }
  });
  const dataStart = align4(12 + headerLength);
  const floats = Math.max(0, Math.floor((bytes.length - dataStart) / 4));
  const total = header.tensors.reduce((n, t) => n + t.length, 0);
  if (total > floats) {
    throw corrupt(
      `truncated data: ${Math.max(0, bytes.length - dataStart)} bytes, expected ${total * 4}`,
    );
  }
  const byOffset = header.tensors.map((t, i) => ({ ...t, i })).sort((a, b) => a.offset - b.offset);
  let end = 0;
  for (const t of byOffset) {
    if (t.offset + t.length > floats) {
      throw corrupt(
        `header field ${named(t.i)}.offset: ${t.offset} + length ${t.length} runs past the ` +
          `${floats} values in the file, expected offset + length <= ${floats}`,
      );
    }
    if (t.offset < end && t.length > 0) {
      throw corrupt(
        `header field ${named(t.i)}.offset: ${t.offset} overlaps another tensor, expected >= ${end}`,
      );
    }
    end = Math.max(end, t.offset + t.length);
  }
  // Copy (Buffer.slice would not) so the floats are aligned and own their memory.
  const data = new Float32Array(
    new Uint8Array(bytes.subarray(dataStart, dataStart + end * 4)).buffer,
  );
  const tensors = header.tensors.map((t) => ({
    name: t.name,
    shape: t.shape,
    data: data.subarray(t.offset, t.offset + t.length),
  }));
  return { tensors, meta: header.meta };
}

export function saveCheckpoint(path: string, contents: CheckpointContents): void {
  writeFileAtomic(path, encodeCheckpoint(contents));
}

export function loadCheckpoint(path: string): CheckpointContents {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new AnnealError(
      'ANNEAL_CHECKPOINT_NOT_FOUND',
      `cannot read checkpoint ${path} (${(e as NodeJS.ErrnoException).code ?? e}); check the path`,
    );
  }
  return decodeCheckpoint(bytes, path);
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

// ---- checkpoint directories ----------------------------------------------------------------

const LATEST = 'latest';
const CHECKPOINT_FILE = /^checkpoint-(\d+)\.ck$/;

export function checkpointFileName(step: number): string {
  return `checkpoint-${step}.ck`;
}

/** Writes `checkpoint-<step>.ck` files into a directory, keeps the newest `keep`, and `latest`. */
export class CheckpointStore {
  constructor(
    readonly dir: string,
    readonly keep = 3,
  ) {
    if (!Number.isInteger(keep) || keep < 1) {
      throw new UsageError(
        'ANNEAL_BAD_OPTION',
        `keep = ${keep} checkpoints is not valid: expected an integer >= 1`,
      );
    }
  }

  private cleaned = false;

  /**
   * Writes the checkpoint of `step`, points `latest` at it, then deletes the oldest extra ones.
   * The first save also deletes the temp files killed writers left in the directory.
   */
  save(step: number, contents: CheckpointContents): string {
    mkdirSync(this.dir, { recursive: true });
    if (!this.cleaned) {
      this.removeStaleTempFiles();
      this.cleaned = true;
    }
    const name = checkpointFileName(step);
    const path = join(this.dir, name);
    saveCheckpoint(path, contents);
    writeFileAtomic(join(this.dir, LATEST), name + '\n');
    for (const old of this.list().slice(0, -this.keep)) unlinkSync(join(this.dir, old.name));
    return path;
  }

  /** The checkpoint files, oldest (smallest step) first. */
  list(): { name: string; step: number }[] {
    if (!existsSync(this.dir)) return [];
    return readdirSync(this.dir)
      .map((name) => ({ name, match: CHECKPOINT_FILE.exec(name) }))
      .filter((f) => f.match !== null)
      .map((f) => ({ name: f.name, step: Number(f.match![1]) }))
      .sort((a, b) => a.step - b.step);
  }

  /**
   * The checkpoint `latest` names: the one a resume loads (undefined before the first). Not the
   * newest file: a writer killed between a checkpoint and its pointer leaves a newer file that
   * `latest` does not name yet.
   */
  latest(): { name: string; step: number } | undefined {
    const pointer = join(this.dir, LATEST);
    if (!existsSync(pointer)) return undefined;
    const path = resolveCheckpointPath(this.dir);
    const name = basename(path);
    return { name, step: Number(CHECKPOINT_FILE.exec(name)![1]) };
  }

  /**
   * Deletes the temp files of `checkpoint-<step>.ck` and `latest` that a killed writer left
   * (`.<name>.<pid>.tmp` of a PID no longer alive; a live writer's are kept). Returns their names.
   */
  removeStaleTempFiles(): string[] {
    return removeStaleTempFiles(this.dir, (name) => name === LATEST || CHECKPOINT_FILE.test(name));
  }
}

/**
 * The checkpoint file `path` designates: the file itself, or in a directory the one its `latest`
 * names, or in a run directory the one `checkpoints/latest` names.
 */
export function resolveCheckpointPath(path: string): string {
  if (!existsSync(path)) {
    throw new AnnealError(
      'ANNEAL_CHECKPOINT_NOT_FOUND',
      `no checkpoint at ${path}: no such file or directory; pass a run directory, a checkpoint ` +
        'directory or a .ck file',
    );
  }
  if (!statSync(path).isDirectory()) return path;
  for (const dir of [path, join(path, 'checkpoints')]) {
    const pointer = join(dir, LATEST);
    if (!existsSync(pointer)) continue;
    const name = readFileSync(pointer, 'utf8').trim();
    const target = join(dir, name);
    if (!CHECKPOINT_FILE.test(name) || !existsSync(target)) {
      throw new AnnealError(
        'ANNEAL_CHECKPOINT_CORRUPT',
        `${pointer} names '${name}', which is not a checkpoint file in ${dir}; pass one of the ` +
          `checkpoint-<step>.ck files there instead`,
      );
    }
    return target;
  }
  throw new AnnealError(
    'ANNEAL_CHECKPOINT_NOT_FOUND',
    `no checkpoint in ${path}: neither ${join(path, LATEST)} nor ` +
      `${join(path, 'checkpoints', LATEST)} exists; pass a .ck file or a run that wrote checkpoints ` +
      '(a run stopped before its first checkpoint has none: start it again with `anneal train --overwrite`)',
  );
}

// ---- nested state with arrays ----------------------------------------------------------------

/** Nested JSON-like state in which Float32Arrays may appear anywhere. */
export type PackableValue =
  | number
  | string
  | boolean
  | null
  | Float32Array
  | PackableValue[]
  | { [key: string]: PackableValue };

const TENSOR_REF = '$tensor';

/**
 * Splits nested state into JSON (each Float32Array replaced by `{ "$tensor": name }`) and named
 * tensors `${prefix}/${path}`, so arrays go into the binary part of a checkpoint.
 */
export function packState(
  value: PackableValue,
  prefix: string,
): { json: unknown; tensors: NamedArray[] } {
  const tensors: NamedArray[] = [];
  const walk = (v: PackableValue, path: string): unknown => {
    if (v instanceof Float32Array) {
      tensors.push({ name: path, shape: [v.length], data: v });
      return { [TENSOR_REF]: path };
    }
    if (Array.isArray(v)) return v.map((x, i) => walk(x, `${path}/${i}`));
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, `${path}/${k}`)]));
    }
    if (typeof v === 'number' && !Number.isFinite(v)) return { $number: String(v) };
    return v;
  };
  return { json: walk(value, prefix), tensors };
}

/** The inverse of packState; a reference to a missing tensor is a corrupt checkpoint. */
export function unpackState(
  json: unknown,
  tensors: ReadonlyMap<string, NamedArray>,
  source: string,
): PackableValue {
  const walk = (v: unknown): PackableValue => {
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o[TENSOR_REF] === 'string') {
        const t = tensors.get(o[TENSOR_REF] as string);
        if (!t) {
          throw new AnnealError(
            'ANNEAL_CHECKPOINT_CORRUPT',
            `${source} refers to a tensor '${o[TENSOR_REF]}' it does not contain; re-run the training`,
          );
        }
        return t.data;
      }
      if (typeof o.$number === 'string' && Object.keys(o).length === 1) return Number(o.$number);
      return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, walk(x)]));
    }
    return v as PackableValue;
  };
  return walk(json);
}

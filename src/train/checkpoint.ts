/**
 * Checkpoint file format (one file, written atomically):
 *   8 bytes  magic "ANNEALCK"
 *   4 bytes  header length H (uint32 little-endian)
 *   H bytes  JSON header: { version, tensors: [{ name, shape, dtype, offset, length }], meta }
 *   padding to a multiple of 4, then the float32 data of every tensor (little-endian)
 */
import { readFileSync } from 'node:fs';
import { AnnealError } from '../errors.js';
import { writeFileAtomic } from './atomic.js';

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
  let header: { version: number; tensors: TensorEntry[]; meta: Record<string, unknown> };
  try {
    header = JSON.parse(Buffer.from(bytes.subarray(12, 12 + headerLength)).toString());
  } catch {
    throw corrupt('unreadable header');
  }
  if (header.version !== VERSION) throw corrupt(`version ${header.version}, expected ${VERSION}`);
  const dataStart = align4(12 + headerLength);
  const total = header.tensors.reduce((n, t) => n + t.length, 0);
  if (dataStart + total * 4 > bytes.length) {
    throw corrupt(`truncated data: ${bytes.length - dataStart} bytes, expected ${total * 4}`);
  }
  // Copy (Buffer.slice would not) so the floats are aligned and own their memory.
  const data = new Float32Array(
    new Uint8Array(bytes.subarray(dataStart, dataStart + total * 4)).buffer,
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

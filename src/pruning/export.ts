/**
 * A pruned model on disk: its weights and its mask in one anneal checkpoint file (written
 * atomically), with its metrics. The mask is kept so that retraining can go on with the same
 * pruned weights frozen. Masks give no speed-up in tfjs (zeros in dense tensors still multiply);
 * `sparseBytes` is the size a CSR format would store.
 */
import { AnnealError } from '../errors.js';
import type { ParamVector } from '../engine/param-vector.js';
import { loadCheckpoint, saveCheckpoint, type NamedArray } from '../train/checkpoint.js';

const KIND = 'anneal-pruned';
const PARAM = 'param:';
const MASK = 'mask:';

export interface PrunedModelFile {
  /** Flat weights in the ParamVector's order. */
  params: Float32Array;
  /** Flat mask (1 keep, 0 pruned); all ones where the file had none. */
  mask: Float32Array;
  segments: { name: string; shape: number[]; kind: string }[];
  meta: Record<string, unknown>;
}

/** Writes pv's weights and `mask` (default pv.mask) to `path`, with `meta` (e.g. metrics). */
export function savePrunedModel(
  path: string,
  pv: ParamVector,
  mask: Float32Array | null = pv.mask ? pv.ops.download(pv.mask) : null,
  meta: Record<string, unknown> = {},
): void {
  const params = pv.ops.download(pv.params);
  const tensors: NamedArray[] = [];
  for (const s of pv.segments) {
    tensors.push({
      name: PARAM + s.name,
      shape: [...s.shape],
      data: params.subarray(s.offset, s.offset + s.length),
    });
    if (mask) {
      tensors.push({
        name: MASK + s.name,
        shape: [...s.shape],
        data: mask.subarray(s.offset, s.offset + s.length),
      });
    }
  }
  const segments = pv.segments.map((s) => ({ name: s.name, shape: [...s.shape], kind: s.kind }));
  saveCheckpoint(path, { tensors, meta: { kind: KIND, version: 1, segments, ...meta } });
}

/** Reads a file savePrunedModel wrote. */
export function loadPrunedModel(path: string): PrunedModelFile {
  const { tensors, meta } = loadCheckpoint(path);
  const segments = meta.segments as PrunedModelFile['segments'] | undefined;
  if (meta.kind !== KIND || !Array.isArray(segments)) {
    throw new AnnealError(
      'ANNEAL_CHECKPOINT_MISMATCH',
      `${path} is not a pruned model (kind ${JSON.stringify(meta.kind)}); pass a file written by ` +
        '`anneal prune` or savePrunedModel().',
    );
  }
  const byName = new Map(tensors.map((t) => [t.name, t.data]));
  const length = segments.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
  const params = new Float32Array(length);
  const mask = new Float32Array(length).fill(1);
  let offset = 0;
  for (const s of segments) {
    const values = byName.get(PARAM + s.name);
    if (!values) {
      throw new AnnealError('ANNEAL_CHECKPOINT_CORRUPT', `${path} lacks the weight '${s.name}'.`);
    }
    params.set(values, offset);
    const m = byName.get(MASK + s.name);
    if (m) mask.set(m, offset);
    offset += values.length;
  }
  return { params, mask, segments, meta };
}

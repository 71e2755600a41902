/**
 * Random directions in weight space on the kernels' Philox generator, optionally filter-wise
 * normalised (Li, Xu, Taylor, Studer & Goldstein 2018): each filter of the direction is scaled to
 * the norm of the same filter of the weights. A filter is one index of a weight tensor's last
 * axis (tfjs lays out dense kernels [in, out] and conv kernels [h, w, in, out]), so filters are
 * strided and the scaling runs on the host; 1-D weights (biases, norms) get a zero direction,
 * as in Li et al.
 */
import type { FlatOps, FlatVector } from '../kernels/index.js';
import { invalidOption } from '../options.js';
import type { ShapedSegment } from './objective.js';

export interface DirectionOptions {
  seed?: number;
  /** Philox stream (default 0): independent directions for the same seed. */
  stream?: number;
  /** Scale filters to the weights' filter norms (needs segments with shapes). */
  filterNormalized?: boolean;
}

/** Scales `d` filter by filter to the norms of `x`'s filters (in place, host arrays). */
export function normalizeFilters(
  d: Float32Array,
  x: Float32Array,
  segments: readonly ShapedSegment[],
): void {
  for (const s of segments) {
    if (s.shape.length < 2) {
      d.fill(0, s.offset, s.offset + s.length);
      continue;
    }
    const filters = s.shape[s.shape.length - 1];
    const dn = new Float64Array(filters);
    const xn = new Float64Array(filters);
    for (let i = 0; i < s.length; i++) {
      const f = i % filters;
      dn[f] += d[s.offset + i] ** 2;
      xn[f] += x[s.offset + i] ** 2;
    }
    for (let i = 0; i < s.length; i++) {
      const f = i % filters;
      d[s.offset + i] *= dn[f] > 0 ? Math.sqrt(xn[f] / dn[f]) : 0;
    }
  }
}

/** A Gaussian direction into `out`, filter-normalised against `x` when asked. */
export function randomDirection(
  ops: FlatOps,
  out: FlatVector,
  x: FlatVector,
  segments: readonly ShapedSegment[],
  opts: DirectionOptions = {},
): void {
  ops.random(out, { seed: opts.seed ?? 0, stream: opts.stream ?? 0, distribution: 'gaussian' });
  if (!opts.filterNormalized) return;
  if (segments.length === 0) {
    throw invalidOption(
      'flatness',
      'filterNormalized',
      true,
      'an objective whose weight tensors are known (a model objective)',
    );
  }
  const d = ops.download(out);
  normalizeFilters(d, ops.download(x), segments);
  ops.upload(out, d);
}

/** ||v||_2 */
export function norm(ops: FlatOps, v: FlatVector): number {
  return Math.sqrt(ops.sumSquares(v));
}

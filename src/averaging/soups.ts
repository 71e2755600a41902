/**
 * Model soups (Wortsman et al. 2022): average the weights of models fine-tuned from one start
 * with different hyper-parameters. The uniform soup averages them all; the greedy soup goes
 * through them from the best held-out accuracy down and keeps a model only if the soup's
 * held-out accuracy does not drop. Weights come from anneal checkpoints (the `param:` tensors,
 * in the ParamVector's order); averaging is FlatOps.weightedSum.
 */
import type { ParamVector } from '../engine/param-vector.js';
import { UsageError } from '../errors.js';
import type { FlatOps } from '../kernels/index.js';
import { loadCheckpoint, resolveCheckpointPath } from '../train/checkpoint.js';

const PARAM_PREFIX = 'param:';

export interface WeightSegment {
  name: string;
  shape: number[];
}

/** The flat weights of one model and their segment table. */
export interface WeightSet {
  /** Where they came from (a checkpoint path or a label). */
  source: string;
  segments: WeightSegment[];
  params: Float32Array;
  /** The checkpoint's meta, when read from one. */
  meta?: Record<string, unknown>;
}

/** The weights of a checkpoint (a .ck file, a checkpoint directory or a run directory). */
export function readCheckpointWeights(path: string): WeightSet {
  const file = resolveCheckpointPath(path);
  const { tensors, meta } = loadCheckpoint(file);
  const params = tensors.filter((t) => t.name.startsWith(PARAM_PREFIX));
  if (params.length === 0) {
    throw new UsageError(
      'ANNEAL_CHECKPOINT_NO_WEIGHTS',
      `${file} holds no model weights (no 'param:' tensors); pass a checkpoint written by anneal train`,
    );
  }
  const length = params.reduce((n, t) => n + t.data.length, 0);
  const flat = new Float32Array(length);
  let offset = 0;
  for (const t of params) {
    flat.set(t.data, offset);
    offset += t.data.length;
  }
  return {
    source: file,
    segments: params.map((t) => ({ name: t.name.slice(PARAM_PREFIX.length), shape: [...t.shape] })),
    params: flat,
    meta,
  };
}

/** The segment table of a ParamVector, to compare weight sets with a model. */
export function segmentsOf(pv: ParamVector): WeightSegment[] {
  return pv.segments.map((s) => ({ name: s.name, shape: [...s.shape] }));
}

/**
 * Throws when `b` is not laid out like `a`: the message names the first differing segment (its
 * position, names and shapes). Names may differ (tfjs numbers layers per process); shapes and
 * the number of segments must not.
 */
export function checkSameArchitecture(
  a: { source: string; segments: readonly WeightSegment[] },
  b: { source: string; segments: readonly WeightSegment[] },
): void {
  const n = Math.max(a.segments.length, b.segments.length);
  for (let i = 0; i < n; i++) {
    const sa = a.segments[i];
    const sb = b.segments[i];
    if (sa && sb && `${sa.shape}` === `${sb.shape}`) continue;
    const show = (s: WeightSegment | undefined) =>
      s ? `'${s.name}' [${s.shape.join(', ')}]` : 'no segment';
    throw new UsageError(
      'ANNEAL_ARCHITECTURE_MISMATCH',
      `${b.source} does not have the architecture of ${a.source}: weight segment ${i} is ` +
        `${show(sb)} there but ${show(sa)} in ${a.source}; average only checkpoints of the same ` +
        `model (same --model and model options)`,
    );
  }
}

function checkAll(sets: readonly WeightSet[]): void {
  if (sets.length === 0) {
    throw new UsageError(
      'ANNEAL_SOUP_EMPTY',
      'a soup needs at least one model; pass --checkpoints a b ...',
    );
  }
  for (const s of sets.slice(1)) checkSameArchitecture(sets[0], s);
}

/** sum_k weights[k] * sets[k].params on the kernels. */
export function weightedAverage(
  ops: FlatOps,
  sets: readonly WeightSet[],
  weights: readonly number[],
): Float32Array {
  checkAll(sets);
  const xs = sets.map((s) => ops.fromArray(s.params));
  const out = ops.alloc(sets[0].params.length);
  try {
    ops.weightedSum(out, xs, weights);
    return ops.download(out);
  } finally {
    for (const v of [...xs, out]) ops.free(v);
  }
}

/** The uniform soup: the plain mean of every model's weights. */
export function uniformSoup(ops: FlatOps, sets: readonly WeightSet[]): Float32Array {
  return weightedAverage(
    ops,
    sets,
    sets.map(() => 1 / sets.length),
  );
}

export interface GreedySoupResult {
  /** Indices into the input, best held-out score first. */
  order: number[];
  /** Each model's own held-out score, by input index. */
  scores: number[];
  /** Indices of the models in the soup, in the order they were added. */
  members: number[];
  /**
   * Each candidate in turn (same order as `order`): `tried`, the held-out score of the average
   * with it (what decided), and `score`, the soup's score after the decision.
   */
  trace: { candidate: number; tried: number; score: number; added: boolean }[];
  /** The soup's held-out score. */
  score: number;
  soup: Float32Array;
}

/**
 * The greedy soup (Wortsman et al. 2022, Recipe 1): sort by held-out score (ties: input order),
 * start with the best, add each next model if the score of the average with it is >= the
 * current soup's. `score` evaluates flat weights (higher is better, e.g. held-out accuracy).
 */
export function greedySoup(
  ops: FlatOps,
  sets: readonly WeightSet[],
  score: (params: Float32Array) => number,
): GreedySoupResult {
  checkAll(sets);
  const scores = sets.map((s) => score(s.params));
  const order = sets.map((_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b);
  let members = [order[0]];
  let soup: Float32Array = sets[order[0]].params.slice();
  let best = scores[order[0]];
  const trace = [{ candidate: order[0], tried: best, score: best, added: true }];
  for (const candidate of order.slice(1)) {
    const tried = [...members, candidate];
    const mixed = weightedAverage(
      ops,
      tried.map((i) => sets[i]),
      tried.map(() => 1 / tried.length),
    );
    const s = score(mixed);
    const added = s >= best;
    trace.push({ candidate, tried: s, score: added ? s : best, added });
    if (added) {
      members = tried;
      soup = mixed;
      best = s;
    }
  }
  return { order, scores, members, trace, score: best, soup };
}

/**
 * The plan of a command's work, printed before it starts, and refused above limits that a user
 * rarely means unless `--force` is given: a slip such as `--mult 1e9` or `--limit 1e9` would
 * otherwise run for days, or exhaust memory, before saying anything.
 */
import { totalmem } from 'node:os';
import type * as tfl from '@tensorflow/tfjs-layers';
import { UsageError } from '../errors.js';
import type { Recipe } from '../runs/recipe.js';

export const PLAN_LIMITS = {
  /** Optimizer steps of all the command's training together. */
  steps: 10_000_000,
  /** Pruning cycles, search rungs: each is an evaluation and a model rebuild or two. */
  cycles: 1_000,
  /** Estimated peak memory, as a fraction of this machine's. */
  memoryFraction: 0.5,
} as const;

export const FORCE_HELP =
  `run a plan above the limits (${PLAN_LIMITS.steps.toLocaleString('en')} steps, ` +
  `${PLAN_LIMITS.cycles.toLocaleString('en')} cycles, half of this machine's memory)`;

export interface Plan {
  /** Unknown before the data is loaded: the data's memory is checked first. */
  steps?: number;
  samples?: number;
  cycles?: number;
  /** Estimated peak memory in bytes. */
  bytes?: number;
}

const count = (n: number) =>
  !Number.isFinite(n)
    ? String(n)
    : n >= 1e12
      ? n.toExponential(2)
      : Math.round(n).toLocaleString('en');
const gigabytes = (bytes: number) =>
  bytes < 2 ** 30 ? `${Math.ceil(bytes / 2 ** 20)} MB` : `${(bytes / 2 ** 30).toFixed(1)} GB`;

/** "1,875 steps, 120,000 samples, about 0.31 GB of memory". */
export function describePlan(plan: Plan): string {
  return [
    ...(plan.steps === undefined ? [] : [`${count(plan.steps)} steps`]),
    ...(plan.samples === undefined ? [] : [`${count(plan.samples)} samples`]),
    ...(plan.cycles === undefined ? [] : [`${count(plan.cycles)} cycles`]),
    ...(plan.bytes === undefined ? [] : [`about ${gigabytes(plan.bytes)} of memory`]),
  ].join(', ');
}

/** Refuses a plan above PLAN_LIMITS unless `force`; says which limit and how to go on. */
export function checkPlan(plan: Plan, force: boolean): void {
  if (force) return;
  const limit =
    plan.steps !== undefined && !(plan.steps <= PLAN_LIMITS.steps)
      ? `${count(PLAN_LIMITS.steps)} steps`
      : plan.cycles !== undefined && !(plan.cycles <= PLAN_LIMITS.cycles)
        ? `${count(PLAN_LIMITS.cycles)} cycles`
        : plan.bytes !== undefined && !(plan.bytes <= totalmem() * PLAN_LIMITS.memoryFraction)
          ? `half of this machine's ${gigabytes(totalmem())} of memory`
          : undefined;
  if (limit) {
    throw new UsageError(
      'ANNEAL_PLAN_TOO_LARGE',
      `the plan (${describePlan(plan)}) goes past ${limit}; check the sizes given, or pass --force to run it anyway`,
    );
  }
}

/** Float32 values a data set of the recipe holds, before it is loaded (train and test splits). */
type BuiltInData = Exclude<Recipe['data']['name'], 'image-folder' | 'csv'>;
const PIXELS: Record<BuiltInData, number> = {
  mnist: 28 * 28,
  'fashion-mnist': 28 * 28,
  cifar10: 32 * 32 * 3,
  synthetic: 8 * 8,
};
const SIZES: Record<BuiltInData, { train: number; test: number }> = {
  mnist: { train: 60_000, test: 10_000 },
  'fashion-mnist': { train: 60_000, test: 10_000 },
  cifar10: { train: 50_000, test: 10_000 },
  // Without a limit, a synthetic split has 1,000 samples.
  synthetic: { train: 1_000, test: 1_000 },
};

/**
 * Bytes the recipe's data takes once loaded (float32 pixels and int32 labels), from its
 * limits: known before any file is read or sample made.
 */
export function recipeDataBytes(recipe: Recipe): number {
  const { name, limit, testLimit } = recipe.data;
  // A user's own data (image-folder, csv) has no size known before its files are read.
  if (name === 'image-folder' || name === 'csv') return 0;
  const size = SIZES[name];
  // A file data set holds at most its own size; a synthetic one is as large as its limit.
  const cap = (n: number | undefined, all: number) =>
    n === undefined ? all : name === 'synthetic' ? n : Math.min(n, all);
  const samples = cap(limit, size.train) + cap(testLimit, size.test);
  return samples * (PIXELS[name] + 1) * 4;
}

/**
 * Bytes of training `model` at `batchSize`: weights, gradients and two optimizer moments (four
 * float32 copies of the parameters), and every layer's output kept for the backward pass.
 */
export function trainingBytes(model: tfl.LayersModel, batchSize: number): number {
  const params = model.countParams();
  let activations = 0;
  for (const layer of model.layers) {
    const shapes = (
      Array.isArray(layer.outputShape[0]) ? layer.outputShape : [layer.outputShape]
    ) as (number | null)[][];
    for (const shape of shapes) activations += shape.reduce<number>((n, d) => n * (d ?? 1), 1);
  }
  // Activations twice: the forward value and its gradient.
  return 4 * (4 * params + 2 * batchSize * activations);
}

/**
 * One run of a recipe comparison as a self-contained task: a plain-JSON request (the recipe with
 * its seed, 'single' or 'multi', the curve settings and the data to load) that any process can
 * train with `runCurveRun`, so compareRecipes can hand its runs to an executor
 * (src/runs/executor.ts): worker threads (WorkerPool on `curveWorkerEntry()`) or a job queue.
 *
 * The task loads its own data from the recipe, as the coordinator did (same data section, same
 * data seed), works out the same plan, checks both against the request, and trains exactly what
 * compareRecipes trains in-process for that run: the same points, bit for bit on the same backend
 * and kernels. Only the time axis (trainSeconds, evalSeconds) depends on where it ran.
 *
 * A curve run keeps no checkpoint: stopped (`signal`, a worker's SIGTERM) it rejects with
 * TaskInterrupted, and running the same request again trains it from step 0. A single run is a
 * few minutes on this project's machines, and its points are only complete together.
 */
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { z } from 'zod';
import type { Dataset } from '../data/index.js';
import { UsageError } from '../errors.js';
import { KERNEL_CHOICES } from '../kernels/index.js';
import { JsonlLogger } from '../logs/jsonl.js';
import { TaskInterrupted, workerModule, type TaskContext } from '../runs/executor.js';
import { loadRecipeInputs, parseRecipe } from '../runs/recipe.js';
import { writeJsonAtomic } from '../runs/run-dir.js';
import type { Callback } from '../train/method.js';
import {
  planCurve,
  runMultiCurve,
  runSingleCurve,
  warmUp,
  type CurveContext,
  type CurvePlan,
  type CurvePoint,
} from './curve.js';

const positiveInt = z.number().int().positive();
/** '0.25ep', '100ba', a number of steps, or { value, unit } (planCurve checks the rest). */
const durationLike = z.union([
  z.string().min(1),
  z.number().positive(),
  z.strictObject({ value: z.number().positive(), unit: z.enum(['ep', 'ba', 'sp', 'dur']) }),
]);

/** The recipe part: the recipe schema's own checks and messages (parseRecipe). */
const recipe = z.unknown().transform((value, ctx) => {
  try {
    return parseRecipe(value, { source: 'recipe' });
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message });
    return z.NEVER;
  }
});

/** A curve run's request as it travels (a queue's job payload is checked with this). */
export const CurveRunRequestSchema = z.strictObject({
  /** The recipe's name in the comparison ('baseline', 'label-smoothing+mixup'): the points' label. */
  name: z.string().min(1),
  /** The recipe the run trains (the base recipe with the name applied), with the run's seed. */
  recipe,
  /** 'single': the cyclic run, a point per cycle; 'multi': one separate run per budget. */
  run: z.enum(['single', 'multi']),
  /** The curve's settings (CurveSettings). */
  settings: z.strictObject({
    cycles: positiveInt,
    firstCycle: durationLike,
    mult: z.number().optional(),
    shape: z.enum(['linear', 'cosine']).optional(),
    cycleWarmup: durationLike.optional(),
  }),
  /** The coordinator's budgets: the run checks that its own plan gives the same. */
  budgets: z.array(positiveInt).min(1),
  /**
   * The data the run loads: the recipe's data section with this seed (the coordinator's, i.e. the
   * base recipe's seed, not the run's), and the sizes the coordinator saw, checked on load.
   */
  data: z.strictObject({
    seed: z.number().int().nonnegative(),
    trainSamples: positiveInt,
    testSamples: positiveInt,
    /** datasetFingerprint of the train and test sets, 'train/test': the same data, checked on load. */
    fingerprint: z.string().optional(),
  }),
  /** Flat-vector kernels for the run (default: the recipe's). */
  kernels: z.enum(KERNEL_CHOICES).optional(),
  /** A few untimed steps of the recipe first, once per process (default true). */
  warmUp: z.boolean().optional(),
  /** Where the run writes log.jsonl and points.json (nothing is written without it). */
  dir: z.string().min(1).optional(),
});

export type CurveRunRequest = z.output<typeof CurveRunRequestSchema>;

export interface CurveRunResult {
  /** The run's points in the order it recorded them (cycle 1, 2, ...). */
  points: CurvePoint[];
}

/** JSON has no NaN (a diverged run's loss): null comes back as NaN. */
const metric = z
  .number()
  .nullable()
  .transform((v) => v ?? NaN);
const count = z.number().int().nonnegative();
const seconds = z.number().nonnegative();

/** A run's result as it comes back from elsewhere (a queue's job return value is checked with this). */
export const CurveRunResultSchema = z.strictObject({
  points: z.array(
    z.strictObject({
      recipe: z.string(),
      seed: count,
      run: z.enum(['single', 'multi']),
      cycle: positiveInt,
      steps: count,
      samples: count,
      epochs: z.number().nonnegative(),
      trainSeconds: seconds,
      evalSeconds: seconds,
      accuracy: metric,
      loss: metric,
    }),
  ),
}) satisfies z.ZodType<CurveRunResult, unknown>;

/** Checks a request (e.g. a job payload) and fills in its recipe's defaults. */
export function parseCurveRunRequest(value: unknown): CurveRunRequest {
  const result = CurveRunRequestSchema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    // The recipe's own messages (parseRecipe) already start with 'recipe: '.
    const named = path === '' || issue.message.startsWith(`${path}: `);
    return `${named ? '' : `${path}: `}${issue.message}`;
  });
  throw new UsageError('ANNEAL_BAD_CURVE_RUN', `curve run request: ${problems.join('; ')}`);
}

/** Steps a run of `kind` trains under `budgets`: the last budget, or all of them for separate runs. */
export function curveRunSteps(kind: CurvePoint['run'], budgets: readonly number[]): number {
  return kind === 'single' ? budgets[budgets.length - 1] : budgets.reduce((a, b) => a + b, 0);
}

/** The stable name of a run within its comparison (a queue's job id). */
export function curveRunId(request: Pick<CurveRunRequest, 'name' | 'recipe' | 'run'>): string {
  return `curve/${request.name}/seed-${request.recipe.seed}/${request.run}`;
}

/**
 * A short hash of a dataset's labels, shape and a spread of its pixel values (FNV-1a over their
 * bits; every value of small sets, about 4,096 of large ones): two processes that loaded the
 * same data get the same string, a different dataset, seed or limit almost surely does not.
 */
export function datasetFingerprint(data: Dataset): string {
  let h = 0x811c9dc5;
  const mix = (word: number) => {
    h = Math.imul(h ^ (word & 0xffff), 0x01000193);
    h = Math.imul(h ^ (word >>> 16), 0x01000193);
  };
  mix(data.length);
  mix(data.numClasses);
  for (const d of data.shape) mix(d);
  for (const label of data.labels) mix(label);
  const bits = new Uint32Array(data.images.buffer, data.images.byteOffset, data.images.length);
  const stride = Math.max(1, Math.floor(bits.length / 4096));
  for (let i = 0; i < bits.length; i += stride) mix(bits[i]);
  return (h >>> 0).toString(16).padStart(8, '0');
}

/** Recipes this process has warmed up (by everything but the seed). */
const warmed = new Set<string>();

/** Progress at most this often (and at a run's first and last step). */
const PROGRESS_MS = 250;

/**
 * Trains one run of a comparison from its request, loading its own data; see the file's header.
 * `opts.onProgress` gets the steps done of the run's steps (for separate runs, all of theirs);
 * `opts.signal` stops it at the next step with TaskInterrupted (no checkpoint: it starts over).
 */
export async function runCurveRun(
  request: CurveRunRequest | z.input<typeof CurveRunRequestSchema>,
  opts: TaskContext = {},
): Promise<CurveRunResult> {
  const req = parseCurveRunRequest(request);
  const steps = curveRunSteps(req.run, req.budgets);
  const label = `${req.name} seed ${req.recipe.seed} (${req.run} run)`;
  if (opts.signal?.aborted) {
    throw new TaskInterrupted(`${label} stopped before it started; run it again to start it`);
  }
  const inputs = await loadRecipeInputs({ ...req.recipe, seed: req.data.seed });
  // The run builds its own model from its seed (recipeModel), as in-process runs do.
  inputs.model.dispose();
  const { train, test } = inputs;
  if (train.length !== req.data.trainSamples || test.length !== req.data.testSamples) {
    throw new UsageError(
      'ANNEAL_CURVE_DATA_MISMATCH',
      `${label}: its data has ${train.length} train / ${test.length} test samples here, the ` +
        `comparison's ${req.data.trainSamples} / ${req.data.testSamples}: every worker must read ` +
        'the same dataset (check its directory and --limit/--test-limit on this machine)',
    );
  }
  const fingerprint = `${datasetFingerprint(train)}/${datasetFingerprint(test)}`;
  if (req.data.fingerprint !== undefined && req.data.fingerprint !== fingerprint) {
    throw new UsageError(
      'ANNEAL_CURVE_DATA_MISMATCH',
      `${label}: its data here (fingerprint ${fingerprint}) are not the comparison's ` +
        `(${req.data.fingerprint}), though of the same size: every worker must read the same ` +
        'dataset files, and the comparison must pass the data its base recipe loads',
    );
  }
  const plan: CurvePlan = planCurve(req.recipe, train, req.settings);
  if (plan.budgets.join(',') !== req.budgets.join(',')) {
    throw new UsageError(
      'ANNEAL_CURVE_DATA_MISMATCH',
      `${label}: its budgets here are ${plan.budgets.join(', ')} steps, the comparison's ` +
        `${req.budgets.join(', ')}: the request's settings or data differ from the coordinator's`,
    );
  }

  let last = -Infinity;
  const report = (step: number, force = false) => {
    const now = performance.now();
    if (!force && now - last < PROGRESS_MS) return;
    last = now;
    opts.onProgress?.({ step, steps });
  };
  // Steps of the separate runs already finished (each separate run counts from 0).
  let finished = 0;
  const progress: Callback = {
    onBatchEnd: (state) => report(finished + state.timestamp.step),
  };
  const logger =
    req.dir === undefined
      ? undefined
      : (mkdirSync(req.dir, { recursive: true }),
        new JsonlLogger(join(req.dir, 'log.jsonl'), {
          everySteps: req.recipe.logEvery,
          meta: { recipe: req.name, seed: req.recipe.seed, run: req.run },
        }));
  const ctx: CurveContext = {
    train,
    test,
    kernels: req.kernels,
    callbacks: logger ? [progress, logger] : [progress],
    signal: opts.signal,
    onPoint: (point) => {
      if (point.run === 'multi') finished += point.steps;
      logger?.log.write({ event: 'point', ...point });
    },
  };

  // As compareRecipes does before its first run: the first steps in a process are slow.
  const key = JSON.stringify({ ...req.recipe, seed: 0, kernels: req.kernels });
  if ((req.warmUp ?? true) && !warmed.has(key)) {
    await warmUp(req.recipe, plan, ctx);
    warmed.add(key);
  }
  report(0, true);
  try {
    const points =
      req.run === 'single'
        ? await runSingleCurve(req.name, req.recipe, plan, ctx)
        : await runMultiCurve(req.name, req.recipe, plan, ctx);
    report(steps, true);
    if (req.dir !== undefined) writeJsonAtomic(join(req.dir, 'points.json'), { points });
    return { points };
  } catch (e) {
    if (e instanceof TaskInterrupted)
      logger?.log.write({ event: 'interrupted', reason: e.message });
    throw e;
  }
}

/** The worker-thread entry of a curve's WorkerPool: worker.js next to this file (worker.ts from source). */
export function curveWorkerEntry(): URL {
  return workerModule(import.meta.url, 'worker');
}

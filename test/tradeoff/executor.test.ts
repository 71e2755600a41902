/**
 * A comparison's runs as self-contained tasks (src/tradeoff/run.ts): a run trained from its
 * request, which loads its own data, gives the points of the same run trained in-process; a
 * comparison on an executor (2 worker threads, or one that answers out of order or fails a run)
 * writes the curve.json of the comparison run one run after another in this process.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import type { Dataset } from '../../src/data/index.js';
import {
  isTaskInterrupted,
  WorkerPool,
  type Executor,
  type TaskOptions,
  type TaskProgress,
} from '../../src/runs/executor.js';
import { loadRecipeInputs, parseRecipe } from '../../src/runs/recipe.js';
import {
  applyRecipeName,
  compareRecipes,
  CurveRunResultSchema,
  curveWorkerEntry,
  datasetFingerprint,
  planCurve,
  runCurveRun,
  runMultiCurve,
  runSingleCurve,
  type CompareOptions,
  type CurvePoint,
  type CurveRunRequest,
  type CurveRunResult,
} from '../../src/tradeoff/index.js';

// tfjs's cpu backend and the js kernels: deterministic, the same in every thread.
const base = parseRecipe(
  {
    data: { name: 'synthetic', limit: 200, testLimit: 60 },
    model: { name: 'mlp', options: { hidden: [16] } },
    optimizer: { name: 'adamw', lr: 0.01 },
    batchSize: 20,
    backend: 'cpu',
    kernels: 'js',
    seed: 3,
  },
  { source: 'test' },
);
const settings = { cycles: 2, firstCycle: '0.5ep' } as const;
const compare = (out: string): CompareOptions => ({
  ...settings,
  base,
  recipes: ['baseline', 'label-smoothing'],
  seeds: [1, 2],
  multiRun: ['baseline'],
  out,
});

let train: Dataset;
let test_: Dataset;
/** The comparison run one run after another in this process: what every executor must match. */
let sequentialJson: Record<string, unknown>;
let sequentialOut: string;

before(async () => {
  const inputs = await loadRecipeInputs(base);
  inputs.model.dispose();
  ({ train, test: test_ } = inputs);
  sequentialOut = mkdtempSync(join(tmpdir(), 'anneal-curve-seq-'));
  const sequential = await compareRecipes(compare(sequentialOut), { train, test: test_ });
  // 2 seeds x (2 recipes x 2 cycles + 2 separate runs).
  assert.equal(sequential.points.length, 12);
  sequentialJson = JSON.parse(readFileSync(join(sequentialOut, 'curve.json'), 'utf8'));
});

/** A point without its timings (which depend on where and when it ran). */
const untimed = ({ trainSeconds: _t, evalSeconds: _e, ...rest }: CurvePoint) => rest;

/** Two curve.json files agree: the same keys, settings, schedules and points (timings aside). */
function assertSameCurve(saved: Record<string, unknown>, tolerance = 0): void {
  assert.deepEqual(Object.keys(saved).sort(), Object.keys(sequentialJson).sort());
  for (const key of ['settings', 'base', 'schedules', 'complete']) {
    assert.deepEqual(saved[key], sequentialJson[key], key);
  }
  const got = saved.points as CurvePoint[];
  const want = sequentialJson.points as CurvePoint[];
  assert.equal(got.length, want.length);
  got.forEach((p, i) => {
    const { accuracy, loss, ...label } = untimed(p);
    const { accuracy: a, loss: l, ...wantLabel } = untimed(want[i]);
    assert.deepEqual(label, wantLabel, `point ${i}`);
    assert.ok(Math.abs(accuracy - a) <= tolerance, `point ${i}: accuracy ${accuracy} vs ${a}`);
    assert.ok(Math.abs(loss - l) <= tolerance * Math.max(1, Math.abs(l)), `point ${i}: loss`);
  });
  const rows = (r: unknown) =>
    (r as { rows: Record<string, unknown>[] }).rows.map((row) => [
      row.recipe,
      row.run,
      row.cycle,
      row.seeds,
      row.accuracyMean,
    ]);
  assert.deepEqual(rows(saved.summary), rows(sequentialJson.summary));
}

/** The request of one run, as compareRecipes builds it. */
function requestOf(name: string, seed: number, run: 'single' | 'multi'): CurveRunRequest {
  return {
    name,
    recipe: { ...applyRecipeName(base, name), seed },
    run,
    settings,
    budgets: [5, 15],
    data: {
      seed: base.seed,
      trainSamples: 200,
      testSamples: 60,
      fingerprint: `${datasetFingerprint(train)}/${datasetFingerprint(test_)}`,
    },
  };
}

test('a run trained from its request, loading its own data, gives the in-process run its points', async () => {
  const recipe = { ...applyRecipeName(base, 'label-smoothing'), seed: 2 };
  const plan = planCurve(base, train, settings);
  // The in-process runs of the same recipe on the data loaded once, above.
  const single = await runSingleCurve('label-smoothing', recipe, plan, { train, test: test_ });
  const multi = await runMultiCurve('label-smoothing', recipe, plan, { train, test: test_ });
  const progress: TaskProgress[] = [];
  // The request and the result as a queue carries them: JSON.
  const asJson = <T>(value: T): unknown => JSON.parse(JSON.stringify(value));
  const fromRequest = await runCurveRun(
    asJson(requestOf('label-smoothing', 2, 'single')) as CurveRunRequest,
    { onProgress: (p) => void progress.push(p) },
  );
  assert.deepEqual(fromRequest.points.map(untimed), single.map(untimed));
  assert.deepEqual(CurveRunResultSchema.parse(asJson(fromRequest)), fromRequest);
  // A diverged point's NaN loss is null in JSON, and NaN again once checked.
  const diverged = { points: [{ ...fromRequest.points[0], loss: NaN }] };
  assert.ok(Number.isNaN(CurveRunResultSchema.parse(asJson(diverged)).points[0].loss));
  const separate = await runCurveRun(requestOf('label-smoothing', 2, 'multi'));
  assert.deepEqual(separate.points.map(untimed), multi.map(untimed));
  // From step 0 to all 15 steps of the single run, never backwards.
  assert.deepEqual(progress[0], { step: 0, steps: 15 });
  assert.deepEqual(progress.at(-1), { step: 15, steps: 15 });
  for (let i = 1; i < progress.length; i++) assert.ok(progress[i].step >= progress[i - 1].step);
});

test('a stopped run rejects as interrupted; a bad request or other data is refused by name', async () => {
  const controller = new AbortController();
  await assert.rejects(
    runCurveRun(requestOf('baseline', 1, 'multi'), {
      signal: controller.signal,
      onProgress: () => controller.abort(),
    }),
    (e: Error) => isTaskInterrupted(e) && /step 0 of 5.*run it again/.test(e.message),
  );
  const bad = { ...requestOf('baseline', 1, 'single'), run: 'both' } as unknown as CurveRunRequest;
  await assert.rejects(runCurveRun(bad), /curve run request: run: /);
  const badRecipe = {
    ...requestOf('baseline', 1, 'single'),
    recipe: { ...base, optimizer: { name: 'adamw', lr: -1 } },
  } as unknown as CurveRunRequest;
  await assert.rejects(runCurveRun(badRecipe), /recipe: optimizer\.lr: /);
  // Data loaded with the run's seed instead of the comparison's: same sizes, other samples.
  const request = requestOf('baseline', 1, 'single');
  const otherData = { ...request, data: { ...request.data, seed: 1 } };
  await assert.rejects(runCurveRun(otherData), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'ANNEAL_CURVE_DATA_MISMATCH');
    assert.match(e.message, /though of the same size/);
    return true;
  });
  await assert.rejects(
    runCurveRun({ ...requestOf('baseline', 1, 'single'), budgets: [5, 16] }),
    /budgets here are 5, 15 steps, the comparison's 5, 16/,
  );
});

/**
 * Runs the requests in this process once all are in, last first; `fail` names runs that throw.
 * Records the ids it was given.
 */
class ReverseExecutor implements Executor<CurveRunRequest, CurveRunResult> {
  readonly ids: (string | undefined)[] = [];
  private pending: {
    request: CurveRunRequest;
    opts: TaskOptions;
    resolve: (r: CurveRunResult) => void;
    reject: (e: unknown) => void;
  }[] = [];
  constructor(private readonly fail: readonly string[] = []) {}

  run(request: CurveRunRequest, opts: TaskOptions = {}): Promise<CurveRunResult> {
    this.ids.push(opts.id);
    return new Promise((resolve, reject) => {
      this.pending.push({ request, opts, resolve, reject });
      if (this.pending.length === 1) setImmediate(() => void this.drain());
    });
  }

  private async drain(): Promise<void> {
    for (const { request, opts, resolve, reject } of this.pending.reverse()) {
      if (this.fail.includes(opts.id ?? '')) reject(new Error(`${opts.id} failed`));
      else await runCurveRun(request, opts).then(resolve, reject);
    }
  }

  async close(): Promise<void> {}
}

test('runs that finish in any order are recorded in the order of a run one after another', async () => {
  const out = mkdtempSync(join(tmpdir(), 'anneal-curve-rev-'));
  const executor = new ReverseExecutor();
  const starts: string[] = [];
  const seen: CurvePoint[] = [];
  await compareRecipes(compare(out), {
    train,
    test: test_,
    executor,
    onRunStart: (r) => void starts.push(`${r.recipe}/${r.seed}/${r.run}`),
    onPoint: (p) => void seen.push(p),
  });
  assert.deepEqual(executor.ids, [
    'curve/baseline/seed-1/single',
    'curve/baseline/seed-1/multi',
    'curve/label-smoothing/seed-1/single',
    'curve/baseline/seed-2/single',
    'curve/baseline/seed-2/multi',
    'curve/label-smoothing/seed-2/single',
  ]);
  // Started (and so recorded) last first.
  assert.equal(starts[0], 'label-smoothing/2/single');
  assert.equal(seen[0].recipe, 'label-smoothing');
  assertSameCurve(JSON.parse(readFileSync(join(out, 'curve.json'), 'utf8')));
  const csv = (dir: string) =>
    readFileSync(join(dir, 'points.csv'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => line.split(',').slice(0, 7).join(','));
  // recipe, seed, run, cycle, steps, samples, epochs: row for row.
  assert.deepEqual(csv(out), csv(sequentialOut));
});

test('a failed run does not stop the others: they are kept, and the comparison then throws', async () => {
  const out = mkdtempSync(join(tmpdir(), 'anneal-curve-fail-'));
  const executor = new ReverseExecutor(['curve/baseline/seed-1/multi']);
  await assert.rejects(
    compareRecipes(compare(out), { train, test: test_, executor }),
    /curve\/baseline\/seed-1\/multi failed/,
  );
  const saved = JSON.parse(readFileSync(join(out, 'curve.json'), 'utf8'));
  assert.equal(saved.complete, false);
  // Every point but the 2 of that run, in the sequential order.
  const want = (sequentialJson.points as CurvePoint[]).filter(
    (p) => !(p.seed === 1 && p.run === 'multi'),
  );
  assert.deepEqual((saved.points as CurvePoint[]).map(untimed), want.map(untimed));
  // What cannot cross to a run is refused before anything runs.
  await assert.rejects(
    compareRecipes(compare(out), {
      train,
      test: test_,
      executor,
      callbacks: [{}],
    }),
    /cannot pass callbacks/,
  );
});

test('2 worker threads write the curve.json of the comparison run in this process', async () => {
  const out = mkdtempSync(join(tmpdir(), 'anneal-curve-pool-'));
  const pool = new WorkerPool<CurveRunRequest, CurveRunResult>(2, curveWorkerEntry());
  const progress = new Map<string, TaskProgress>();
  try {
    await compareRecipes(compare(out), {
      train,
      test: test_,
      executor: pool,
      onRunProgress: (r, p) => progress.set(`${r.recipe}/${r.seed}/${r.run}`, p),
    });
  } finally {
    await pool.close();
  }
  const saved = JSON.parse(readFileSync(join(out, 'curve.json'), 'utf8'));
  // tfjs-cpu and the js kernels are deterministic: the same bits in another thread.
  assertSameCurve(saved, 0);
  assert.equal(progress.size, 6);
  for (const [run, p] of progress) {
    assert.deepEqual(p, { step: p.steps, steps: run.endsWith('multi') ? 20 : 15 }, run);
  }
});

test("a worker thread's run stops at a signal mid-run, not at its end", async () => {
  const pool = new WorkerPool<CurveRunRequest, CurveRunResult>(1, curveWorkerEntry());
  const controller = new AbortController();
  // One cycle of 2,000 steps: a single fit, so only the stop can end it early.
  const request = {
    ...requestOf('baseline', 1, 'single'),
    settings: { cycles: 1, firstCycle: '200ep' },
    budgets: [2000],
  };
  try {
    await assert.rejects(
      pool.run(request, {
        signal: controller.signal,
        onProgress: (p) => {
          if (p.step > 0) controller.abort();
        },
      }),
      (e: Error) => {
        assert.ok(isTaskInterrupted(e), e.message);
        const step = Number(/stopped at step (\d+) of 2000/.exec(e.message)?.[1]);
        assert.ok(step > 0 && step < 2000, e.message);
        return true;
      },
    );
  } finally {
    await pool.close();
  }
});

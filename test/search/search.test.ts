/**
 * Real searches on a tiny synthetic set: two worker threads, an MLP, a few trials (one of them
 * crashing); how a promotion continues training; and the `anneal search` command's user errors.
 */
import assert from 'node:assert/strict';
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readJsonl } from '../../src/logs/jsonl.js';
import {
  parseResources,
  parseSpace,
  readSpaceFile,
  runSearch,
  runTrialJob,
  workerEntry,
  type Job,
  type TrialRequest,
  type TrialResult,
  type SearchResult,
} from '../../src/search/index.js';
import { isTaskInterrupted, WorkerPool } from '../../src/runs/executor.js';
import { base } from './helpers.js';
import { anneal, assertUserError } from '../cli/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'anneal-search-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('a real search', () => {
  it('2 workers, SHA over 4 configs (one of which crashes): finishes and writes search.json', async () => {
    const space = parseSpace(
      {
        'optimizer.lr': { type: 'loguniform', low: 1e-3, high: 0.1 },
        // [-1] passes the recipe schema (model options are the factory's) and throws in the worker.
        'model.options.hidden': { type: 'choice', values: [[8], [-1]] },
      },
      'space',
      base,
    );
    const out = join(dir, 'sha');
    const result = await runSearch({
      space,
      base,
      scheduler: 'sha',
      maxResource: '2ep',
      minResource: '1ep',
      eta: 2,
      configs: 4,
      workers: 2,
      seed: 0,
      out,
    });
    const saved = JSON.parse(readFileSync(join(out, 'search.json'), 'utf8')) as SearchResult;
    assert.equal(saved.status, 'finished');
    assert.equal(saved.trials.length, 4);
    assert.deepEqual(saved, JSON.parse(JSON.stringify(result)));
    const crashed = saved.trials.filter(
      (t) => (t.config['model.options.hidden'] as number[])[0] === -1,
    );
    const fine = saved.trials.filter(
      (t) => (t.config['model.options.hidden'] as number[])[0] === 8,
    );
    assert.ok(crashed.length > 0 && fine.length > 0, 'seed 0 samples both kinds');
    for (const t of crashed) {
      assert.equal(t.status, 'failed');
      assert.match(t.error!, /hidden/);
    }
    // R/r = 2, eta = 2: s_max = 1, rungs 1ep (4 configs) and 2ep (floor(4/2) = 2).
    assert.deepEqual(
      saved.rungs.map((r) => [r.rung, r.resource, r.planned, r.started]),
      [
        [0, 1, 4, 4],
        [1, 2, 2, fine.length],
      ],
    );
    assert.equal(saved.totalResource, 4 * 1 + fine.length * 1);
    // Every finished trial has its own directory with its config, log and checkpoints.
    for (const t of fine) {
      assert.ok(existsSync(join(t.dir, 'config.json')));
      assert.ok(existsSync(join(t.dir, 'checkpoints', 'latest')));
      const rungs = readJsonl(join(t.dir, 'log.jsonl')).filter((r) => r.event === 'rung');
      assert.deepEqual(
        rungs.map((r) => r.valAccuracy),
        t.results.map((r) => r.score),
      );
    }
    if (saved.best) {
      const best = saved.trials.find((t) => t.trial === saved.best!.trial)!;
      assert.equal(best.results.at(-1)!.score, saved.best.score);
    }
  });
});

describe('the worker pool', () => {
  it('a job that throws or a thread that dies rejects that job only; dead workers are replaced', async () => {
    const pool = new WorkerPool<TrialRequest, TrialResult>(
      1,
      new URL('./crash-worker.ts', import.meta.url),
    );
    const request = (trial: number) => ({ job: { trial } }) as unknown as TrialRequest;
    try {
      const outcomes = await Promise.allSettled([0, 1, 2, 3, 4].map((t) => pool.run(request(t))));
      assert.deepEqual(
        outcomes.map((o) =>
          o.status === 'fulfilled' ? o.value.score : (o.reason as Error).message,
        ),
        [
          0,
          'worker thread died: exit code 3',
          'worker thread died: native crash stand-in',
          'bad trial',
          0.4,
        ],
      );
    } finally {
      await pool.close();
    }
  });

  it('reports progress, and a stopped task rejects as interrupted (queued ones without running)', async () => {
    const pool = new WorkerPool<TrialRequest, TrialResult>(
      1,
      new URL('./crash-worker.ts', import.meta.url),
    );
    const request = (trial: number) => ({ job: { trial } }) as unknown as TrialRequest;
    try {
      const running = new AbortController();
      const queued = new AbortController();
      const progress: unknown[] = [];
      const first = pool.run(request(5), {
        signal: running.signal,
        onProgress: (p) => {
          progress.push(p);
          running.abort();
        },
      });
      const second = pool.run(request(4), { signal: queued.signal });
      queued.abort();
      const [a, b] = await Promise.allSettled([first, second]);
      assert.deepEqual(progress, [{ step: 1, steps: 10 }]);
      for (const o of [a, b]) {
        assert.equal(o.status, 'rejected');
        assert.ok(isTaskInterrupted(o.reason), String(o.reason));
      }
      // The pool goes on.
      assert.equal((await pool.run(request(6))).score, 0.6);
    } finally {
      await pool.close();
    }
  });
});

describe('stopping a real trial in a worker thread', () => {
  it('stops at the next step (the shared flag; the loop never yields to a message)', async () => {
    const pool = new WorkerPool<TrialRequest, TrialResult>(1, workerEntry());
    const stop = new AbortController();
    try {
      const request = {
        job: { trial: 0, bracket: 0, rung: 0, from: 0, resource: 300, fidelity: 'truncated' },
        recipe: base,
        dir: join(dir, 'pool-stop'),
        unit: 'ep',
        maxResource: 300,
        valFraction: 0.1,
        splitSeed: 0,
        config: {},
      } as TrialRequest;
      await assert.rejects(
        pool.run(request, { signal: stop.signal, onProgress: () => stop.abort() }),
        (e: unknown) => {
          const m = /stopped at step (\d+) of 2100/.exec((e as Error).message);
          // The first progress report comes after step 1; the stop lands within a few steps.
          return isTaskInterrupted(e) && m !== null && Number(m[1]) < 100;
        },
      );
    } finally {
      await pool.close();
    }
  });
});

describe('how a promotion continues training', () => {
  const recipe = { ...base, logEvery: 1, optimizer: { ...base.optimizer, lr: 0.05 } };
  const request = (job: Partial<Job>, out: string) => ({
    job: {
      trial: 0,
      bracket: 0,
      rung: 0,
      from: 0,
      resource: 2,
      fidelity: 'truncated' as const,
      ...job,
    },
    recipe,
    dir: join(dir, out),
    unit: 'ep' as const,
    maxResource: 2,
    valFraction: 0.1,
    splitSeed: 0,
    config: {},
  });
  // 240 samples, 24 held out: 216 / 32 = 7 steps an epoch (the last one partial).
  const lrByStep = (out: string) =>
    new Map(
      readJsonl(join(dir, out, 'log.jsonl'))
        .filter((r) => r.event === 'batch_end')
        .map((r) => [r.step as number, r.lr as number]),
    );

  it("'truncated': 1ep then 1ep more from the checkpoint is exactly one 2ep run", async () => {
    await runTrialJob(request({ resource: 1 }, 'split'));
    const split = await runTrialJob(request({ rung: 1, from: 1, resource: 2 }, 'split'));
    const whole = await runTrialJob(request({}, 'whole'));
    assert.equal(split.steps, 14);
    assert.equal(split.loss, whole.loss);
    assert.equal(split.score, whole.score);
    // The lr at step index 7 is the middle of the 14-step cosine: 0.05 * (1 + cos(pi/2)) / 2.
    assert.ok(Math.abs(lrByStep('split').get(8)! - 0.025) < 1e-9);
  });

  it('a job stopped mid-rung resumes its own checkpoint and ends exactly as an uninterrupted one', async () => {
    const whole = await runTrialJob(request({}, 'whole-2'));
    const stop = new AbortController();
    const seen: unknown[] = [];
    await assert.rejects(
      runTrialJob(request({}, 'stopped'), {
        signal: stop.signal,
        onProgress: (p) => {
          seen.push(p);
          stop.abort();
        },
      }),
      (e: unknown) => isTaskInterrupted(e) && /stopped at step 1 of 14/.test((e as Error).message),
    );
    assert.deepEqual(seen, [{ step: 1, steps: 14 }]);
    const again = await runTrialJob(request({}, 'stopped'));
    const log = readJsonl(join(dir, 'stopped', 'log.jsonl'));
    assert.deepEqual(
      log
        .filter((r) => r.event === 'interrupted' || r.event === 'resume')
        .map((r) => [r.event, r.step]),
      [
        ['interrupted', 1],
        ['resume', 1],
      ],
    );
    assert.equal(again.steps, 14);
    assert.equal(again.loss, whole.loss);
    assert.equal(again.score, whole.score);
  });

  it('a kill between a checkpoint file and its `latest` pointer: the job resumes what `latest` names', async () => {
    const whole = await runTrialJob(request({}, 'whole-4'));
    const stop = new AbortController();
    await assert.rejects(
      runTrialJob(request({}, 'orphan'), { signal: stop.signal, onProgress: () => stop.abort() }),
      (e: unknown) => isTaskInterrupted(e),
    );
    // A complete checkpoint file newer than the one `latest` names (step 1), as a writer killed
    // before switching the pointer leaves it.
    const checkpoints = join(dir, 'orphan', 'checkpoints');
    copyFileSync(join(checkpoints, 'checkpoint-1.ck'), join(checkpoints, 'checkpoint-3.ck'));
    const again = await runTrialJob(request({}, 'orphan'));
    assert.equal(again.steps, 14);
    assert.equal(again.loss, whole.loss);
    assert.equal(again.score, whole.score);
  });

  it('a promotion whose checkpoint is missing trains again from step 0 and its log says so', async () => {
    const whole = await runTrialJob(request({}, 'whole-3'));
    await runTrialJob(request({ resource: 1 }, 'lost'));
    rmSync(join(dir, 'lost', 'checkpoints'), { recursive: true });
    const promoted = await runTrialJob(request({ rung: 1, from: 1, resource: 2 }, 'lost'));
    const restart = readJsonl(join(dir, 'lost', 'log.jsonl')).filter((r) => r.event === 'restart');
    assert.equal(restart.length, 1);
    assert.match(String(restart[0].reason), /no checkpoint in .*trained again from step 0/);
    // Truncated fidelity: 0 -> 2ep in one piece is the same run as 1ep + 1ep.
    assert.equal(promoted.steps, 14);
    assert.equal(promoted.score, whole.score);
  });

  it("'repeated' (MORL): each rung is a complete cosine cycle of its own length", async () => {
    await runTrialJob(request({ resource: 1, fidelity: 'repeated' }, 'morl'));
    await runTrialJob(request({ rung: 1, from: 1, resource: 2, fidelity: 'repeated' }, 'morl'));
    const lr = lrByStep('morl');
    const cosine = (t: number, T: number) => (0.05 * (1 + Math.cos((Math.PI * t) / T))) / 2;
    // Record `step` s + 1 carries the lr of step index s. Rung 0: steps 0..6 of a 7-step
    // cycle; rung 1: steps 7..13, a new 7-step cycle starting again at the full lr.
    for (let s = 0; s < 14; s++) {
      const expected = s < 7 ? cosine(s, 7) : cosine(s - 7, 7);
      assert.ok(
        Math.abs(lr.get(s + 1)! - expected) < 1e-9,
        `step ${s}: ${lr.get(s + 1)} vs ${expected}`,
      );
    }
  });
});

describe('anneal search: user errors', () => {
  const space = join(dir, 'space.json');
  writeFileSync(
    space,
    JSON.stringify({ 'optimizer.lr': { type: 'loguniform', low: 1e-4, high: 0.1 } }),
  );

  it('a missing or bad space file, an unknown scheduler, mixed resource units', () => {
    assertUserError(
      anneal(['search', '--space', join(dir, 'none.json')]),
      'none.json cannot be read',
    );
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"optimizer.lr": {"type": "gaussian"}}');
    assertUserError(
      anneal(['search', '--space', bad]),
      'optimizer.lr',
      'type "gaussian" is not a distribution',
    );
    assertUserError(
      anneal(['search', '--space', space, '--scheduler', 'bohb']),
      "'bohb'",
      'hyperband',
    );
    assertUserError(
      anneal(['search', '--space', space, '--max-resource', '4ep', '--min-resource', '100ba']),
      'different units',
    );
    assertUserError(
      anneal(['search', '--space', space, '--scheduler', 'sha', '--min-trials', '2']),
      'minTrials = 2',
      '--scheduler median',
    );
  });

  it('the same checks in process: invalid JSON, a fraction of the run, min above max', async () => {
    const bad = join(dir, 'bad2.json');
    writeFileSync(bad, '{"optimizer.lr": ');
    assert.throws(() => readSpaceFile(bad), /bad2\.json: not valid JSON/);
    assert.throws(
      () => parseResources('0.5dur', undefined, 3),
      /max resource "0.5dur" is not valid/,
    );
    assert.throws(() => parseResources('2ep', '3ep', 3), /min resource '3ep' is not valid/);
    assert.deepEqual(parseResources('9ep', undefined, 3), { unit: 'ep', min: 1, max: 9 });
    const space = parseSpace({ 'optimizer.lr': { type: 'loguniform', low: 1e-3, high: 0.1 } });
    const common = { space, base, maxResource: '2ep', out: join(dir, 'never') };
    await assert.rejects(
      runSearch({ ...common, scheduler: 'hyperband', configs: 5 }),
      /configs = 5 cannot be given to hyperband/,
    );
    await assert.rejects(
      runSearch({
        ...common,
        scheduler: 'sha',
        base: { ...base, methods: { ...base.methods, use: ['cyclical-batch-size'] } },
      }),
      /method cyclical-batch-size cannot be searched: it varies the batch size/,
    );
    await assert.rejects(
      runSearch({ ...common, scheduler: 'asha', minTrials: 2 }),
      /minTrials = 2 is an option of the median stopping rule, not of asha/,
    );
    await assert.rejects(
      runSearch({ ...common, scheduler: 'median', minTrials: 0 }),
      /minTrials = 0 is not valid: expected an integer >= 1/,
    );
    await assert.rejects(
      runSearch({ ...common, scheduler: 'bohb' }),
      /scheduler "bohb" is not known/,
    );
    assert.equal(existsSync(join(dir, 'never')), false);
  });

  it("a rung shorter than one step at a trial's own batch size fails that trial, and the search ends", async () => {
    // The base recipe (batch 32, 7 steps an epoch of 216 samples) passes the up-front check at
    // 0.2ep (1.4 steps); a trial at batch 216 has 1 step an epoch, so 0.2ep is 0.2 steps.
    const space = parseSpace({ batchSize: { type: 'choice', values: [216] } }, 'space', base);
    const result = await runSearch({
      space,
      base,
      scheduler: 'sha',
      maxResource: '0.2ep',
      minResource: '0.2ep',
      configs: 2,
      out: join(dir, 'tiny'),
      executor: { run: runTrialJob, close: async () => {} }, // in this thread: no worker needed
    });
    assert.equal(result.best, null);
    assert.deepEqual(
      result.trials.map((t) => t.status),
      ['failed', 'failed'],
    );
    assert.match(
      result.trials[0].error!,
      /less than one step \(1 steps an epoch\): raise --min-resource/,
    );
  });
});

/**
 * anneal-cpu's thread count: the option (--threads, a recipe's `threads`) wins over
 * ANNEAL_THREADS, which wins over every core; a bad value is one line naming it; a search
 * divides the count among its worker threads, and each worker's count stays its own (OpenMP
 * keeps one per thread). The tests that start the backend are skipped where the host device is
 * not built (CI sets ANNEAL_REQUIRE_HOST=1: there they fail).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { hostDevice, hostDeviceProblem } from '../../src/backend/index.js';
import { resolveThreads } from '../../src/machine.js';
import { initEngine } from '../../src/engine/index.js';
import { AnnealError } from '../../src/errors.js';
import { parseSpace, runSearch, workerThreads, type SearchResult } from '../../src/search/index.js';
import { base } from '../search/helpers.js';

const problem = hostDeviceProblem();
if (problem && process.env.ANNEAL_REQUIRE_HOST === '1') {
  throw new Error(`ANNEAL_REQUIRE_HOST=1 but the host device cannot load: ${problem}`);
}
const skip = problem ?? false;

const dir = mkdtempSync(join(tmpdir(), 'anneal-threads-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function withThreadsEnv<T>(value: string | undefined, f: () => T | Promise<T>): Promise<T> {
  const saved = process.env.ANNEAL_THREADS;
  if (value === undefined) delete process.env.ANNEAL_THREADS;
  else process.env.ANNEAL_THREADS = value;
  try {
    return await f();
  } finally {
    if (saved === undefined) delete process.env.ANNEAL_THREADS;
    else process.env.ANNEAL_THREADS = saved;
  }
}

function badThreads(source: string, value: string) {
  return (e: unknown) => {
    assert.ok(e instanceof AnnealError);
    assert.equal(e.code, 'ANNEAL_BAD_THREADS');
    assert.ok(e.message.startsWith(`${source} is '${value}', expected a whole number >= 1`));
    assert.doesNotMatch(e.message, /\n/);
    return true;
  };
}

test('the option wins over ANNEAL_THREADS, which wins over every core', async () => {
  assert.equal(await withThreadsEnv('3', () => resolveThreads(5)), 5);
  assert.equal(await withThreadsEnv('3', () => resolveThreads()), 3);
  assert.equal(await withThreadsEnv(undefined, () => resolveThreads()), availableParallelism());
});

test('a bad ANNEAL_THREADS or threads option is one line naming the value', async () => {
  for (const value of ['0', '-1', '1.5', 'two', '', ' 2', '1e3']) {
    await withThreadsEnv(value, () =>
      assert.throws(() => resolveThreads(), badThreads('ANNEAL_THREADS', value)),
    );
  }
  // A good option is taken without reading a bad variable.
  assert.equal(await withThreadsEnv('two', () => resolveThreads(2)), 2);
  await withThreadsEnv(undefined, () =>
    assert.rejects(initEngine({ backend: 'cpu', threads: 0 }), badThreads('threads option', '0')),
  );
});

test('initEngine({ threads }) gives the host kernels the same count, over ANNEAL_THREADS', async () => {
  await withThreadsEnv('5', async () => {
    // cpu: the count is kept whatever the backend, for --kernels host loaded later (loadHostOps).
    await initEngine({ backend: 'cpu', threads: 3 });
    assert.equal(resolveThreads(), 3);
    await initEngine({ backend: 'cpu' });
    assert.equal(resolveThreads(), 5);
  });
});

test("a search's workers share the threads: floor(threads / workers), at least 1", async () => {
  await withThreadsEnv(undefined, () => {
    assert.equal(workerThreads(4, 2), 2);
    assert.equal(workerThreads(5, 2), 2);
    assert.equal(workerThreads(2, 2), 1);
    assert.equal(workerThreads(1, 3), 1);
    assert.equal(workerThreads(undefined, 1), availableParallelism());
  });
  assert.equal(await withThreadsEnv('6', () => workerThreads(undefined, 3)), 2);
  assert.equal(await withThreadsEnv('6', () => workerThreads(8, 2)), 4);
});

test(
  'initEngine sets the host device threads on anneal-cpu, and none elsewhere',
  { skip },
  async () => {
    const device = hostDevice();
    const on = async (threads: number | undefined) => {
      const engine = await initEngine({ backend: 'anneal-cpu', threads });
      assert.equal(engine.backend, 'anneal-cpu');
      assert.match(device.describe(), new RegExp(`, ${engine.threads} threads$`));
      return engine.threads;
    };
    try {
      assert.equal(await withThreadsEnv('1', () => on(3)), 3);
      assert.equal(await withThreadsEnv('1', () => on(undefined)), 1);
      assert.equal(await withThreadsEnv(undefined, () => on(undefined)), availableParallelism());
      // wasm runs on one thread of its own: the count is not anneal's to record.
      assert.equal((await initEngine({ backend: 'wasm', threads: 3 })).threads, null);
    } finally {
      await withThreadsEnv(undefined, () => initEngine({ backend: 'anneal-cpu' }));
    }
  },
);

test(
  'a search with 2 workers and 4 threads trains each trial on 2, and leaves the main thread its 4',
  { skip },
  async () => {
    const threaded = { ...base, backend: 'anneal-cpu' as const, threads: 4 };
    const out = join(dir, 'search');
    const result: SearchResult = await withThreadsEnv(undefined, () =>
      runSearch({
        space: parseSpace(
          { 'optimizer.lr': { type: 'loguniform', low: 1e-3, high: 0.1 } },
          'space',
          threaded,
        ),
        base: threaded,
        scheduler: 'sha',
        maxResource: '1ep',
        minResource: '1ep',
        eta: 2,
        configs: 2,
        workers: 2,
        out,
      }),
    );
    assert.equal(result.threadsPerWorker, 2);
    assert.deepEqual(result.baseRecipe, threaded);
    assert.equal(result.trials.length, 2);
    for (const t of result.trials) {
      assert.equal(t.status, 'completed', t.error);
      const config = JSON.parse(readFileSync(join(t.dir, 'config.json'), 'utf8'));
      // The count in force in the worker thread, as the host device reported it there.
      assert.deepEqual(config.engine, { backend: 'anneal-cpu', threads: 2 });
      assert.equal(config.recipe.threads, 2);
    }
    // The base recipe was checked here first, on 4 threads; the workers' 2 are theirs alone.
    assert.match(hostDevice().describe(), /, 4 threads$/);
    await withThreadsEnv(undefined, () => initEngine({ backend: 'anneal-cpu' }));
  },
);

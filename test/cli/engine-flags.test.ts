/**
 * The engine flags end to end: `--threads` reaches anneal-cpu from each command that trains and
 * wins over ANNEAL_THREADS, the count in force is recorded where the backend is, and a forced
 * anneal-cpu that cannot load is one line saying how to get it while `auto` falls back to wasm.
 * The runs on anneal-cpu are skipped where the host device is not built (CI sets
 * ANNEAL_REQUIRE_HOST=1: there they fail).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { hostDeviceProblem } from '../../src/backend/index.js';
import { anneal, assertUserError, type CommandResult } from './helpers.js';

const problem = hostDeviceProblem();
if (problem && process.env.ANNEAL_REQUIRE_HOST === '1') {
  throw new Error(`ANNEAL_REQUIRE_HOST=1 but the host device cannot load: ${problem}`);
}
const skip = problem ?? false;

const dir = mkdtempSync(join(tmpdir(), 'anneal-engine-flags-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const tiny = ['--data', 'synthetic', '--model', 'mlp', '--limit', '64', '--test-limit', '32'];

/** `anneal args` with these environment variables set (undefined: unset) for the call. */
function annealWith(env: Record<string, string | undefined>, args: string[]): CommandResult {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  const apply = (values: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(values)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  apply(env);
  try {
    return anneal(args);
  } finally {
    apply(saved);
  }
}

const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8'));

test(
  'train: --threads wins over ANNEAL_THREADS, which is used without it; both are recorded',
  { skip },
  () => {
    const flag = join(dir, 'flag');
    const r = annealWith({ ANNEAL_THREADS: '2', ANNEAL_BACKEND: undefined }, [
      ...['train', ...tiny, '--epochs', '1', '--no-progress', '--threads', '1', '--out', flag],
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /tfjs backend anneal-cpu \(1 thread\)/);
    assert.equal(readJson(join(flag, 'config.json')).engine.threads, 1);
    assert.equal(readJson(join(flag, 'config.json')).engine.backend, 'anneal-cpu');
    assert.equal(readJson(join(flag, 'summary.json')).threads, 1);

    const env = join(dir, 'env');
    const e = annealWith({ ANNEAL_THREADS: '3', ANNEAL_BACKEND: undefined }, [
      ...['train', ...tiny, '--epochs', '1', '--no-progress', '--out', env],
    ]);
    assert.equal(e.code, 0, e.stderr);
    assert.equal(readJson(join(env, 'summary.json')).threads, 3);

    // prune takes the run's recipe, and --threads over it.
    const pruned = join(dir, 'pruned');
    const p = annealWith({ ANNEAL_THREADS: '3' }, [
      ...['prune', '--checkpoint', flag, '--target', '0.5', '--budget', '0ba'],
      ...['--threads', '2', '--no-progress', '--out', pruned],
    ]);
    assert.equal(p.code, 0, p.stderr);
    const summary = readJson(join(pruned, 'summary.json'));
    assert.deepEqual([summary.backend, summary.threads], ['anneal-cpu', 2]);
  },
);

test('search --threads 4 --workers 2: each worker thread trains on 2', { skip }, () => {
  const space = join(dir, 'space.json');
  writeFileSync(space, JSON.stringify({ 'optimizer.lr': { type: 'choice', values: [0.01] } }));
  const out = join(dir, 'search');
  const r = annealWith({ ANNEAL_THREADS: '1', ANNEAL_BACKEND: undefined }, [
    ...['search', '--data', 'synthetic', '--model', 'mlp', '--limit', '240', '--space', space],
    ...['--scheduler', 'sha'],
    ...['--max-resource', '1ep', '--min-resource', '1ep', '--configs', '2', '--workers', '2'],
    ...['--threads', '4', '--out', out, '--no-live'],
  ]);
  assert.equal(r.code, 0, r.stderr);
  const result = readJson(join(out, 'search.json'));
  assert.equal(result.threadsPerWorker, 2);
  for (const t of result.trials) {
    assert.deepEqual(readJson(join(t.dir, 'config.json')).engine, {
      backend: 'anneal-cpu',
      threads: 2,
    });
  }
});

test('where anneal-cpu cannot load: forced, one line with the fix; auto, wasm', () => {
  // A broken build stands in for a missing one: ANNEAL_ADDON_DIR is searched first.
  const broken = join(dir, 'broken-addon');
  mkdirSync(broken);
  writeFileSync(join(broken, 'anneal_host.node'), 'not a shared object');
  const env = { ANNEAL_ADDON_DIR: broken, ANNEAL_BACKEND: undefined };
  const forced = annealWith(env, [
    ...['train', ...tiny, '--epochs', '1', '--no-progress', '--backend', 'anneal-cpu'],
    ...['--out', join(dir, 'forced')],
  ]);
  assertUserError(
    forced,
    "backend 'anneal-cpu' is unavailable",
    'apt-get install libdnnl-dev',
    'npm run build:addon',
    '--backend wasm',
  );
  const auto = join(dir, 'auto');
  const r = annealWith(env, [
    ...['train', ...tiny, '--epochs', '1', '--no-progress'],
    '--out',
    auto,
  ]);
  assert.equal(r.code, 0, r.stderr);
  const engine = readJson(join(auto, 'config.json')).engine;
  assert.deepEqual([engine.backend, engine.threads], ['wasm', null]);
});

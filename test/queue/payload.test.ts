/**
 * What a worker accepts from the queue (no Redis needed): a trial payload round-trips through the
 * shared directory, and a malformed or hostile one is refused with one line naming the field;
 * Redis URLs, queue names and job ids are checked the same way.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isAnnealError } from '../../src/errors.js';
import {
  checkQueueName,
  checkRedis,
  curveRunKind,
  decodeJob,
  encodeJob,
  escapeJobId,
  JOB_KINDS,
  parseRedisUrl,
  PayloadError,
  trialKind,
} from '../../src/queue/index.js';
import type { TrialRequest } from '../../src/search/index.js';
import type { CurveRunRequest } from '../../src/tradeoff/index.js';
import { base } from '../search/helpers.js';

const shared = mkdtempSync(join(tmpdir(), 'anneal-payload-'));

const request: TrialRequest = {
  job: { trial: 3, bracket: 0, rung: 1, resource: 2, from: 1, fidelity: 'truncated' },
  recipe: base,
  dir: join(shared, 'search', 'trials', 'trial-003'),
  unit: 'ep',
  maxResource: 4,
  valFraction: 0.1,
  splitSeed: 0,
  config: { 'optimizer.lr': 0.01 },
};

/** The payload a coordinator would queue, as JSON (what Redis stores). */
const payload = () => JSON.parse(JSON.stringify(encodeJob(trialKind, request, shared)));

/** The message a worker refuses `data` with. */
function refusal(data: unknown, name = 'trial', dir = shared): string {
  try {
    decodeJob(JOB_KINDS, name, data, dir);
  } catch (e) {
    assert.ok(e instanceof PayloadError, `not a PayloadError: ${e}`);
    assert.doesNotMatch(e.message, /\n/);
    return e.message;
  }
  assert.fail('the payload was accepted');
}

test('a trial request travels with paths relative to the shared directory', () => {
  const p = payload();
  assert.equal(p.request.dir, 'search/trials/trial-003');
  const elsewhere = mkdtempSync(join(tmpdir(), 'anneal-payload-worker-'));
  const { request: back } = decodeJob<TrialRequest>(JOB_KINDS, 'trial', p, elsewhere);
  assert.equal(back.dir, join(elsewhere, 'search', 'trials', 'trial-003'));
  assert.deepEqual({ ...back, dir: request.dir }, request);
});

test('the coordinator refuses a trial directory or a recipe path outside the shared directory', () => {
  for (const [req, fragment] of [
    [{ ...request, dir: '/tmp/elsewhere' }, 'the directory of trial 3 /tmp/elsewhere'],
    [
      { ...request, recipe: { ...base, data: { ...base.data, dir: '/data/mnist' } } },
      'data.dir /data/mnist',
    ],
  ] as const) {
    assert.throws(
      () => encodeJob(trialKind, req, shared),
      (e: unknown) =>
        isAnnealError(e) &&
        e.message.startsWith(fragment) &&
        e.message.includes(`is outside the shared directory ${shared}`) &&
        e.message.includes('--shared-dir'),
    );
  }
});

test('a worker refuses malformed and hostile trial payloads, naming the field', () => {
  const with_ = (edit: (r: Record<string, unknown>) => void) => {
    const p = payload();
    edit(p.request);
    return p;
  };
  const cases: [unknown, RegExp][] = [
    [
      with_((r) => (r.dir = '../../etc')),
      /^trial payload: dir: "\.\.\/\.\.\/etc" is not a path inside the shared directory/,
    ],
    [
      with_((r) => (r.dir = '/etc/cron.d')),
      /^trial payload: dir: "\/etc\/cron\.d" is not a path inside/,
    ],
    [with_((r) => (r.dir = 'a/../../b')), /is not a path inside the shared directory/],
    [with_((r) => (r.dir = 7)), /^trial payload: dir: expected string, received number$/],
    [
      with_((r) => ((r.job as Record<string, unknown>).resource = '2ep')),
      /^trial payload: job\.resource: expected number, received string$/,
    ],
    [
      with_((r) => ((r.job as Record<string, unknown>).from = 5)),
      /^trial payload: job: expected from < resource$/,
    ],
    [with_((r) => (r.maxResource = 1)), /^trial payload: job\.resource 2 is above maxResource 1$/],
    [with_((r) => (r.unit = 'dur')), /^trial payload: unit: expected one of "ep"\|"ba"\|"sp"$/],
    [with_((r) => (r.extra = 1)), /^trial payload: Unrecognized key: "extra"$/],
    [
      with_((r) => ((r.recipe as Record<string, unknown>).batchSize = -1)),
      /^trial payload: recipe: batchSize: /,
    ],
    [
      with_((r) => ((r.recipe as Record<string, unknown>).model = '/etc/model.json')),
      /^trial payload: recipe\.model\.path: "\/etc\/model\.json" is not a path inside/,
    ],
    [
      with_((r) => ((r.recipe as Record<string, unknown>).data = { name: 'csv', dir: '../x.csv' })),
      /^trial payload: recipe\.data\.dir: "\.\.\/x\.csv" is not a path inside/,
    ],
    [
      with_((r) => (r.recipe = 'mnist')),
      /^trial payload: recipe: expected an object, received "mnist"$/,
    ],
    [{ version: 1 }, /^trial payload: request: /],
    [
      { version: 1, request: request, code: 'process.exit()' },
      /^trial payload: Unrecognized key: "code"$/,
    ],
    [null, /^trial payload: expected object, received null$/],
  ];
  for (const [data, expected] of cases) assert.match(refusal(data), expected);
  assert.match(
    refusal(payload(), '__proto__'),
    /^unknown job kind "__proto__": this worker runs trial, curve-run$/,
  );
});

test('a symbolic link inside the shared directory does not lead a job out of it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'anneal-payload-link-'));
  mkdirSync(join(dir, 'runs'));
  symlinkSync(tmpdir(), join(dir, 'runs', 'out'));
  const p = payload();
  p.request.dir = 'runs/out/trial-003';
  assert.match(
    refusal(p, 'trial', dir),
    /leads outside the shared directory .* through a symbolic link; refused$/,
  );
});

test('Redis URLs: user, password, TLS and database are read; a bad one is one line naming it', () => {
  const t = parseRedisUrl('rediss://anneal:s%40cret@10.0.0.5:6380/2');
  assert.deepEqual(
    { ...t.options, tls: t.options.tls && 'tls' },
    { host: '10.0.0.5', port: 6380, db: 2, username: 'anneal', password: 's@cret', tls: 'tls' },
  );
  assert.equal(t.display, 'rediss://anneal:***@10.0.0.5:6380/2');
  assert.equal(parseRedisUrl('redis://localhost').address, 'localhost:6379');
  for (const [url, why] of [
    ['localhost:6379', 'scheme localhost'],
    ['http://:pw@localhost:6379', 'scheme http'],
    ['redis://localhost:6379/x', 'database "x" is not a number'],
    ['not a url', 'it does not parse as a URL'],
  ]) {
    assert.throws(
      () => parseRedisUrl(url),
      (e: unknown) =>
        isAnnealError(e) &&
        e.message.startsWith(
          `--redis ${JSON.stringify(url.replace(':pw@', ':***@'))} is not a Redis URL (${why}): expected redis://`,
        ) &&
        !e.message.includes('pw@'),
    );
  }
  assert.throws(
    () => parseRedisUrl('redis://h', { ca: '/x.pem' }),
    /does not use TLS: use a rediss:\/\/ URL/,
  );
});

test('a Redis that is not there is one line naming host:port and what to do', async () => {
  // Port 1 on loopback: nothing listens there.
  await assert.rejects(checkRedis(parseRedisUrl('redis://127.0.0.1:1')), (e: unknown) => {
    assert.ok(isAnnealError(e));
    assert.equal(
      e.message,
      'cannot reach Redis at 127.0.0.1:1 (connection refused): start redis-server there ' +
        '(e.g. redis-server --bind 127.0.0.1 --port 1 --requirepass PASSWORD) or give --redis the URL of a running one',
    );
    return true;
  });
});

test('queue names and job ids fit BullMQ (no ":", ids stay distinct)', () => {
  assert.equal(checkQueueName('anneal-2'), 'anneal-2');
  assert.throws(() => checkQueueName('a:b'), /--queue "a:b" is not a valid queue name/);
  assert.equal(escapeJobId('trial-007/rung:1'), 'trial-007/rung%3A1');
  assert.notEqual(escapeJobId('a%3Ab'), escapeJobId('a:b'));
});

test('a curve run travels the same way, and a hostile one is refused', () => {
  const run: CurveRunRequest = {
    name: 'baseline',
    recipe: { ...base, seed: 2 },
    run: 'single',
    settings: { cycles: 2, firstCycle: '0.5ep' },
    budgets: [5, 15],
    data: { seed: 0, trainSamples: 216, testSamples: 60 },
    dir: join(shared, 'curve', 'runs', 'baseline-2'),
  };
  const p = JSON.parse(JSON.stringify(encodeJob(curveRunKind, run, shared)));
  assert.equal(p.request.dir, 'curve/runs/baseline-2');
  const { request: back } = decodeJob<CurveRunRequest>(JOB_KINDS, 'curve-run', p, shared);
  assert.deepEqual(back, run);
  p.request.dir = '../../home';
  assert.match(
    refusal(p, 'curve-run'),
    /^curve-run payload: dir: "\.\.\/\.\.\/home" is not a path inside the shared directory/,
  );
  p.request.dir = 'ok';
  p.request.budgets = 'all';
  assert.match(refusal(p, 'curve-run'), /^curve-run payload: budgets: /);
});

/**
 * rediss://: a redis-server that listens only with TLS on loopback, with a self-signed
 * certificate made by openssl in the test and a password; the queue works through it when the
 * certificate is trusted (--redis-ca), and is one line when it is not.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isAnnealError } from '../../src/errors.js';
import {
  checkRedis,
  parseRedisUrl,
  QueueExecutor,
  startQueueWorker,
} from '../../src/queue/index.js';
import { redisSkip, startRedis, type TestRedis } from '../redis.js';
import { fakeEntry, fakeKind, fakeKinds } from './helpers.js';

describe(
  'rediss:// with a self-signed certificate and a password',
  { skip: redisSkip({ tls: true }) },
  () => {
    let redis: TestRedis;
    before(async () => {
      redis = await startRedis({ tls: true });
    });
    after(async () => {
      await redis?.stop();
    });

    test('a job runs through TLS', async () => {
      assert.match(redis.url, /^rediss:\/\/:test-password@127\.0\.0\.1:\d+$/);
      const target = parseRedisUrl(redis.url, { ca: redis.caFile });
      const shared = mkdtempSync(join(tmpdir(), 'anneal-tls-'));
      const exec = await QueueExecutor.open({
        redis: target,
        queue: 'tls',
        kind: fakeKind,
        sharedDir: shared,
        runId: 'tls',
      });
      const worker = await startQueueWorker({
        redis: target,
        queue: 'tls',
        sharedDir: shared,
        kinds: fakeKinds,
        entry: fakeEntry,
      });
      try {
        assert.deepEqual(await exec.run({ x: 8, steps: 2, stepMs: 1 }, { id: 'one' }), {
          y: 16,
          from: 0,
        });
      } finally {
        await worker.stop();
        await exec.close();
      }
    });

    test('an untrusted certificate is one line that says how to trust it', async () => {
      await assert.rejects(checkRedis(parseRedisUrl(redis.url)), (e: unknown) => {
        assert.ok(isAnnealError(e));
        assert.match(
          e.message,
          new RegExp(
            `^Redis at 127\\.0\\.0\\.1:${redis.port}: its TLS certificate is not trusted \\(.+\\): ` +
              "give the CA's PEM file with --redis-ca <file> \\(or NODE_EXTRA_CA_CERTS=<file>\\)$",
          ),
        );
        return true;
      });
    });

    test('a plain redis:// URL to the TLS port is one line pointing at rediss://', async () => {
      const plain = parseRedisUrl(redis.url.replace('rediss://', 'redis://'));
      await assert.rejects(checkRedis(plain, 2000), (e: unknown) => {
        assert.ok(isAnnealError(e));
        assert.match(e.message, new RegExp(`Redis at 127\\.0\\.0\\.1:${redis.port}`));
        assert.match(e.message, /rediss:\/\//);
        assert.doesNotMatch(e.message, /\n/);
        return true;
      });
    });
  },
);

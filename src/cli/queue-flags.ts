/**
 * The queue flags of the commands that run sweeps (`anneal search`, `anneal curve`): with
 * `--redis URL` their trials go to a BullMQ queue for `anneal worker`s instead of local threads.
 */
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { basename, resolve } from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import {
  DEFAULT_QUEUE,
  JOB_KINDS,
  parseRedisUrl,
  QueueExecutor,
  type JobKind,
} from '../queue/index.js';
import { readRunMarker } from '../runs/run-dir.js';

export interface QueueFlagValues {
  redis?: string;
  redisCa?: string;
  queue?: string;
  sharedDir?: string;
}

/** Adds --redis, --redis-ca, --queue and --shared-dir. */
export function addQueueOptions(command: Command): Command {
  return command
    .option(
      '--redis <url>',
      'run the trials on a Redis queue for `anneal worker`s: redis://[:password@]host[:port][/db], rediss:// for TLS',
    )
    .option('--redis-ca <file>', "PEM file of the CA that signed the Redis server's certificate")
    .option(
      '--queue <name>',
      `the queue's name, the same as the workers' (default ${DEFAULT_QUEUE})`,
    )
    .option(
      '--shared-dir <dir>',
      'the directory every worker reaches (checkpoints, logs); workers get paths relative to it ' +
        '(default the run directory)',
    );
}

/**
 * A sweep's jobs are named `<run id>.<task>`: the run directory's name, and a hash of the host, its
 * absolute path and its creation time (its marker), so a resumed sweep finds its jobs again and
 * an --overwrite'n one starts afresh.
 */
export function sweepRunId(runDir: string): string {
  const abs = resolve(runDir);
  const created = readRunMarker(abs)?.created ?? '';
  const hash = createHash('sha256').update(`${hostname()}\n${abs}\n${created}`).digest('hex');
  const name = basename(abs)
    .replace(/[^A-Za-z0-9._-]/g, '_')
    .slice(0, 40);
  return `${name}-${hash.slice(0, 12)}`;
}

/**
 * The queue executor the flags ask for, connected (one line when Redis cannot be reached), or
 * null without --redis. `kind`: 'trial' (src/search), 'curve-run' (src/tradeoff) or a JobKind.
 * Its run id (sweepRunId) is taken at its first run() or journal(): open the run directory
 * before either, so that a resumed sweep gets the same id.
 */
export async function openQueueExecutor<Request, Result>(
  flags: QueueFlagValues,
  kind: string | JobKind<Request, Result>,
  runDir: string,
): Promise<QueueExecutor<Request, Result> | null> {
  if (flags.redis === undefined) {
    const given = (['redisCa', 'queue', 'sharedDir'] as const).filter(
      (k) => flags[k] !== undefined,
    );
    if (given.length > 0) {
      const flag = { redisCa: '--redis-ca', queue: '--queue', sharedDir: '--shared-dir' }[given[0]];
      throw new UsageError(
        'ANNEAL_BAD_OPTION',
        `${flag} ${flags[given[0]]} goes with --redis: pass --redis URL to run on a queue, or drop ${flag}`,
      );
    }
    return null;
  }
  const jobKind =
    typeof kind === 'string' ? (JOB_KINDS[kind] as JobKind<Request, Result> | undefined) : kind;
  if (!jobKind) throw new Error(`no job kind ${kind} in src/queue (a bug)`);
  const redis = parseRedisUrl(flags.redis, { ca: flags.redisCa });
  return QueueExecutor.open({
    redis,
    queue: flags.queue ?? DEFAULT_QUEUE,
    kind: jobKind,
    sharedDir: resolve(flags.sharedDir ?? runDir),
    runId: () => sweepRunId(runDir),
  });
}

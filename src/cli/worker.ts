/**
 * `anneal worker --redis URL`: runs the jobs of a queue (search trials from `anneal search
 * --redis`) on this machine, each on its best backend unless the recipe pins one, in worker
 * threads, printing one line per job. SIGTERM or Ctrl-C stops the running jobs at their next
 * step, checkpointed, puts them back in the queue for any worker, and exits 0.
 */
import type { Command } from 'commander';
import {
  DEFAULT_QUEUE,
  parseRedisUrl,
  startQueueWorker,
  type WorkerEvent,
} from '../queue/index.js';
import { parseThreads } from '../machine.js';
import { positiveInt } from './parse.js';

interface WorkerCommandOptions {
  redis: string;
  redisCa?: string;
  queue: string;
  concurrency: number;
  sharedDir: string;
  lockDuration: number;
  stalledInterval: number;
  maxStalled: number;
  threads?: number;
}

/** Adds `anneal worker` to the program. */
export function addWorkerCommand(program: Command): Command {
  return program
    .command('worker')
    .description(
      'run the trials of a Redis queue (anneal search --redis) on this machine until stopped ' +
        '(SIGTERM/Ctrl-C puts running trials back in the queue, checkpointed)',
    )
    .requiredOption(
      '--redis <url>',
      "the queue's Redis: redis://[:password@]host[:port][/db], rediss:// for TLS",
    )
    .option('--redis-ca <file>', "PEM file of the CA that signed the Redis server's certificate")
    .option('--queue <name>', 'the queue to serve', DEFAULT_QUEUE)
    .option('--concurrency <k>', 'jobs at once, each in its own worker thread', positiveInt, 1)
    .option(
      '--shared-dir <dir>',
      "where the coordinator's --shared-dir is on this machine; job paths must stay inside it",
      '.',
    )
    .option(
      '--lock-duration <s>',
      "seconds a job's lock lasts unrenewed: a dead worker's job runs again after it",
      positiveInt,
      60,
    )
    .option(
      '--stalled-interval <s>',
      "seconds between checks for dead workers' jobs",
      positiveInt,
      30,
    )
    .option(
      '--max-stalled <n>',
      'times a job may lose its worker and run again before it fails',
      positiveInt,
      2,
    )
    .option(
      '--threads <n>',
      "anneal-cpu's threads for each job, over the count its recipe carries (the coordinator's " +
        'share of its own cores); e.g. the cores here divided by --concurrency',
      (value: string) => parseThreads(value, '--threads'),
    )
    .action(workerCommand);
}

function line(event: WorkerEvent): string {
  switch (event.type) {
    case 'start':
      return `job ${event.jobId}: ${event.what}: started (attempt ${event.attempt} of ${event.attempts})`;
    case 'done':
      return `job ${event.jobId}: ${event.what}: done in ${event.seconds.toFixed(1)} s`;
    case 'failed':
      return (
        `job ${event.jobId}: ${event.what}: failed (attempt ${event.attempt} of ${event.attempts}` +
        `${event.attempt < event.attempts ? ', will be retried' : ''}): ${event.error}`
      );
    case 'refused':
      return `job ${event.jobId}: refused, not run: ${event.error}`;
    case 'returned':
      return `job ${event.jobId}: ${event.what}: stopped, checkpointed and back in the queue`;
    case 'error':
      return `anneal worker: ${event.error}`;
  }
}

export async function workerCommand(opts: WorkerCommandOptions): Promise<void> {
  const redis = parseRedisUrl(opts.redis, { ca: opts.redisCa });
  const worker = await startQueueWorker({
    redis,
    queue: opts.queue,
    concurrency: opts.concurrency,
    sharedDir: opts.sharedDir,
    lockDurationMs: opts.lockDuration * 1000,
    stalledIntervalMs: opts.stalledInterval * 1000,
    maxStalledCount: opts.maxStalled,
    threads: opts.threads,
    onEvent: (event) => (event.type === 'error' ? console.error : console.log)(line(event)),
  });
  console.log(
    `anneal worker ${worker.name}: serving queue ${opts.queue} on ${redis.display}, ` +
      `${opts.concurrency} job${opts.concurrency === 1 ? '' : 's'} at a time, shared dir ${worker.sharedDir} ` +
      '(SIGTERM or Ctrl-C to stop)',
  );
  await new Promise<void>((done) => {
    let signals = 0;
    const stop = (signal: NodeJS.Signals) => {
      if (++signals > 1) {
        console.error(`anneal worker: ${signal} again: exiting without returning the running jobs`);
        process.exit(130);
      }
      console.log(`anneal worker: ${signal}: stopping the running jobs (checkpointed)`);
      void worker.stop().then(done);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  console.log('anneal worker: stopped');
}

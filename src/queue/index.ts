/**
 * Sweeps beyond one machine: search trials (and curve runs) as BullMQ jobs on Redis, run by
 * `anneal worker` on any machine that reaches the queue and the shared directory. The coordinator
 * keeps its schedulers; QueueExecutor is one more Executor (src/runs/executor.ts).
 */
export {
  bullConnection,
  checkRedis,
  describeRedisError,
  parseRedisUrl,
  RedisUnavailable,
  type RedisTarget,
  type RedisTargetOptions,
} from './connection.js';
export {
  checkQueueName,
  DEFAULT_QUEUE,
  escapeJobId,
  formatQueueStats,
  journalKey,
  QueueExecutor,
  type QueueExecutorOptions,
  type QueueStats,
} from './executor.js';
export { RedisJournal } from './journal.js';
export {
  curveRunKind,
  decodeJob,
  encodeJob,
  fromShared,
  JOB_KINDS,
  PAYLOAD_VERSION,
  PayloadError,
  toShared,
  trialKind,
  type JobKind,
  type QueueTask,
} from './payload.js';
export {
  startQueueWorker,
  taskWorkerEntry,
  type QueueWorker,
  type QueueWorkerOptions,
  type WorkerEvent,
} from './worker.js';

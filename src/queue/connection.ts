/**
 * Where the queue lives: a Redis URL checked once (`redis://[user:password@]host[:port][/db]`, or
 * `rediss://` for TLS), turned into the options every BullMQ connection and the journal use, and
 * a first connection that fails with one line naming host:port and what to do, not a stack.
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { UsageError } from '../errors.js';

export interface RedisTarget {
  /** `host:port`, for messages. */
  address: string;
  /** The URL with its password masked, for messages and logs. */
  display: string;
  tls: boolean;
  /** ioredis options: host, port, db, user, password, tls. */
  options: RedisOptions;
}

export interface RedisTargetOptions {
  /** A PEM file of the CA that signed the server's certificate (rediss:// only). */
  ca?: string;
  /** How the URL was given, first in messages (default '--redis'). */
  label?: string;
}

const URL_FORMS = 'redis://[user:password@]host[:port][/db] or rediss://... (TLS)';

/** Parses a Redis URL; a bad one is one UsageError line naming it. */
export function parseRedisUrl(text: string, opts: RedisTargetOptions = {}): RedisTarget {
  const label = opts.label ?? '--redis';
  const bad = (why: string) =>
    new UsageError(
      'ANNEAL_BAD_REDIS_URL',
      `${label} ${JSON.stringify(mask(text))} is not a Redis URL (${why}): expected ${URL_FORMS}, ` +
        'e.g. redis://:PASSWORD@127.0.0.1:6379',
    );
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw bad('it does not parse as a URL');
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw bad(`scheme ${url.protocol.replace(/:$/, '')}`);
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw bad('no host');
  const port = url.port === '' ? 6379 : Number(url.port);
  const path = url.pathname.replace(/^\//, '');
  const db = path === '' ? 0 : Number(path);
  if (!(Number.isInteger(db) && db >= 0 && /^\d*$/.test(path))) {
    throw bad(`database ${JSON.stringify(path)} is not a number`);
  }
  if (url.search !== '' || url.hash !== '') throw bad('it has a query or a fragment');
  const tls = url.protocol === 'rediss:';
  if (opts.ca !== undefined && !tls) {
    throw new UsageError(
      'ANNEAL_BAD_REDIS_URL',
      `--redis-ca ${opts.ca} is given for ${mask(text)}, which does not use TLS: use a rediss:// URL or drop --redis-ca`,
    );
  }
  let ca: string | undefined;
  if (opts.ca !== undefined) {
    try {
      ca = readFileSync(opts.ca, 'utf8');
    } catch (e) {
      throw new UsageError(
        'ANNEAL_BAD_REDIS_URL',
        `--redis-ca ${opts.ca} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): ` +
          "give the PEM file of the CA that signed the Redis server's certificate",
      );
    }
  }
  const options: RedisOptions = {
    host,
    port,
    db,
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    // Node's default CAs, plus NODE_EXTRA_CA_CERTS, plus --redis-ca.
    ...(tls ? { tls: ca === undefined ? {} : { ca } } : {}),
  };
  const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  return { address, display: mask(text), tls, options };
}

/** The URL with its password replaced by ***. */
function mask(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/]*:)[^@/]*@/i, '$1***@');
}

/** One line on what went wrong reaching `target`, and what to do. */
export function describeRedisError(target: RedisTarget, e: unknown): string {
  const err = e as NodeJS.ErrnoException & { code?: string };
  const message = String(err?.message ?? e);
  const where = `Redis at ${target.address}`;
  const code = err?.code ?? '';
  if (code === 'ECONNREFUSED') {
    return (
      `cannot reach ${where} (connection refused): start redis-server there ` +
      `(e.g. redis-server --bind 127.0.0.1 --port ${target.options.port} --requirepass PASSWORD) ` +
      'or give --redis the URL of a running one'
    );
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return `cannot reach ${where}: host ${target.options.host} is not known (${code}); check the host in --redis`;
  }
  if (code === 'ETIMEDOUT' || /timed? ?out/i.test(message)) {
    return `cannot reach ${where}: the connection timed out; check the host, the port and any firewall${
      target.tls ? '' : ', and whether the server expects TLS (rediss://)'
    }`;
  }
  if (/WRONGPASS|NOAUTH|invalid password|invalid username/i.test(message)) {
    return (
      `${where} refused the credentials (${message.split('\n')[0]}): give the password in the URL, ` +
      'redis://:PASSWORD@host:port (or redis://USER:PASSWORD@host:port)'
    );
  }
  if (
    /CERT|self[- ]signed|unable to (verify|get)/i.test(code) ||
    /certificate|self[- ]signed/i.test(message)
  ) {
    return (
      `${where}: its TLS certificate is not trusted (${message}): give the CA's PEM file with ` +
      '--redis-ca <file> (or NODE_EXTRA_CA_CERTS=<file>)'
    );
  }
  if (/wrong version number|ssl|tls|ECONNRESET/i.test(`${code} ${message}`)) {
    return (
      `cannot talk to ${where} (${message}): ` +
      (target.tls
        ? 'the URL is rediss:// (TLS); does the server listen with TLS on that port?'
        : 'if the server listens with TLS on that port, use a rediss:// URL')
    );
  }
  return `cannot use ${where} (${message.split('\n')[0]}): check --redis ${target.display}`;
}

/** A connection error: `message` is describeRedisError's line. */
export class RedisUnavailable extends UsageError {
  constructor(message: string) {
    super('ANNEAL_REDIS_UNAVAILABLE', message);
    this.name = 'RedisUnavailable';
  }
}

/**
 * Connects once and pings, failing fast: throws RedisUnavailable with one line (refused, unknown
 * host, bad password, untrusted certificate) instead of ioredis's endless reconnects.
 */
export async function checkRedis(target: RedisTarget, timeoutMs = 5000): Promise<void> {
  let last: unknown;
  const client = new Redis({
    ...target.options,
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  client.on('error', (e) => {
    last = e;
  });
  try {
    await client.connect();
    await client.ping();
  } catch (e) {
    // ioredis rejects with "Connection is closed." and emits the cause as an error.
    throw new RedisUnavailable(describeRedisError(target, last ?? e));
  } finally {
    client.disconnect();
  }
}

/** A plain client (the journal's), retrying commands while Redis is briefly away. */
export function redisClient(target: RedisTarget): Redis {
  const client = new Redis({ ...target.options, maxRetriesPerRequest: null });
  client.on('error', () => {
    // Reconnects on its own; a command waits for it. checkRedis reported the first failure.
  });
  return client;
}

/**
 * The options BullMQ's Queue, QueueEvents and Worker connect with (each makes its own ioredis
 * clients from them). BullMQ's RedisOptions type is its own copy of ioredis's.
 */
export function bullConnection(target: RedisTarget): ConnectionOptions {
  return { ...target.options } as ConnectionOptions;
}

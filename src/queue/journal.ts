/**
 * A sweep's journal in Redis: every (job, outcome) report the coordinator records, in order, one
 * JSON document per entry of a list (RPUSH is atomic), so `--resume` can rebuild the schedulers
 * from Redis as well as from the run directory.
 */
import type { Redis } from 'ioredis';

export class RedisJournal {
  constructor(
    private readonly client: Redis,
    /** The list's key (journalKey in executor.ts). */
    readonly key: string,
  ) {}

  async append(event: unknown): Promise<void> {
    await this.client.rpush(this.key, JSON.stringify(event));
  }

  /** Every entry, oldest first. */
  async read(): Promise<unknown[]> {
    const items = await this.client.lrange(this.key, 0, -1);
    return items.map((item) => JSON.parse(item) as unknown);
  }

  /** Forgets every entry (a sweep started again from scratch). */
  async clear(): Promise<void> {
    await this.client.del(this.key);
  }
}

/** anneal's cache directory: decoded datasets live here, never inside the user's data folder. */
import { homedir } from 'node:os';
import { join } from 'node:path';

/** $XDG_CACHE_HOME/anneal, else ~/.cache/anneal (the XDG base-directory default). */
export function annealCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'anneal');
}

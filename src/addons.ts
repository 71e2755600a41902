/**
 * anneal's native addons (build/Release/*.node, see CMakeLists.txt), found and loaded once each;
 * a load that fails keeps its reason, so every caller can say why in one line (sharp's loader
 * is the model). Imports nothing but node built-ins: the kernels load from dist/ alone.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export type LoadedAddon<T> = { addon: T; path: string } | { reason: string };

/** build/Release seen from src/ (tsx) and from dist/src/ (compiled); ANNEAL_ADDON_DIR first. */
function addonDirs(): string[] {
  const here = dirname(fileURLToPath(import.meta.url));
  const dirs = [join(here, '..', 'build', 'Release'), join(here, '..', '..', 'build', 'Release')];
  if (process.env.ANNEAL_ADDON_DIR) dirs.unshift(resolve(process.env.ANNEAL_ADDON_DIR));
  return dirs;
}

const loaded = new Map<string, LoadedAddon<unknown>>();

/**
 * Loads `file` once; `how` says how to build it when it is missing.
 *
 * OpenMP's threads spin after each parallel region by default (OMP_WAIT_POLICY=active). Between
 * kernels the main thread runs JavaScript, so on a small machine the spinning threads take the
 * cores it and V8 need (a CNN step: 570 ms spinning, 106 ms passive, on 2 cores), and with other
 * processes busy a 2-thread 64K-value axpy took 5.2 ms instead of 10 us. libgomp, which both the
 * host device and the host kernels link, reads the variable once when it loads, so it is set
 * before any addon is (a user's own setting wins).
 */
export function loadAddon<T>(file: string, how: string): LoadedAddon<T> {
  const cached = loaded.get(file);
  if (cached) return cached as LoadedAddon<T>;
  process.env.OMP_WAIT_POLICY ??= 'passive';
  const dirs = addonDirs();
  const path = dirs.map((dir) => join(dir, file)).find((candidate) => existsSync(candidate));
  let result: LoadedAddon<unknown>;
  if (!path) {
    result = { reason: `${file} is not built (looked in ${dirs.join(', ')}); ${how}` };
  } else {
    try {
      result = { addon: createRequire(import.meta.url)(path), path };
    } catch (e) {
      result = {
        reason: `loading ${path} failed (${(e as Error).message}); rebuild it with \`npm run build:addon\``,
      };
    }
  }
  loaded.set(file, result);
  return result as LoadedAddon<T>;
}

/**
 * What the CUDA device's op tests (device-nn, device-elementwise) share: the builds of the
 * device under test, anneal_cpu.node (its host build) always and anneal_cuda.node where a GPU
 * answers (ANNEAL_REQUIRE_CUDA=1 makes one required), and `each`, which defines a test on each.
 * A missing host build skips with its reason; CI builds it and sets ANNEAL_REQUIRE_HOST=1, so
 * there it fails instead.
 */
import { test } from 'node:test';
import { loadAddon } from '../../src/addons.js';
import type { CudaDeviceAddon } from '../../src/backend/device.js';
import { probeCuda } from '../../src/kernels/cuda.js';
import { cudaSkip } from '../kernels/helpers.js';

/** A build of the device under test. */
export interface Target {
  name: string;
  skip: string | false;
  addon: () => CudaDeviceAddon;
}

function target(file: string, skip: string | false): Target {
  const loaded = loadAddon<Partial<CudaDeviceAddon>>(file, 'run `npm run build:addon`');
  const problem =
    skip ||
    ('reason' in loaded
      ? loaded.reason
      : loaded.addon.device
        ? false
        : `${loaded.path} has no device; rebuild it with \`npm run build:addon\``);
  return {
    name: file,
    skip: problem,
    addon: () => (loaded as { addon: CudaDeviceAddon }).addon,
  };
}

export const hostBuild = target('anneal_cpu.node', false);
if (hostBuild.skip && process.env.ANNEAL_REQUIRE_HOST === '1') {
  throw new Error(
    `ANNEAL_REQUIRE_HOST=1 but anneal_cpu.node's device cannot load: ${hostBuild.skip}`,
  );
}
const cuda = probeCuda();
export const TARGETS = [
  hostBuild,
  target('anneal_cuda.node', cudaSkip(cuda.ok ? false : cuda.reason!)),
];

let current: CudaDeviceAddon;
/** The addon of the test running now. */
export const addon = (): CudaDeviceAddon => current;

/**
 * `body` as a test on each target, or on the host build alone (`hostOnly`, with its own skip
 * reason added).
 */
export function each(
  name: string,
  body: () => void,
  only?: { hostOnly: true; skip?: string | false },
): void {
  for (const t of only ? [hostBuild] : TARGETS) {
    test(`${t.name}: ${name}`, { skip: t.skip || (only?.skip ?? false) }, () => {
      current = t.addon();
      body();
    });
  }
}

/**
 * TensorFlow.js backend choice. `auto` takes the first of BACKEND_PREFERENCE that starts:
 * - `tensorflow`: libtensorflow through @tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node,
 *   optional peers that anneal never requires; a user who installed one asked for it, and on a
 *   GPU it is the only backend here that trains on the device.
 * - `anneal-cpu`: anneal's own backend on the addon's host device (oneDNN and OpenMP threads,
 *   src/backend), built by `npm ci` where libdnnl-dev is installed. It trains the CNN ~9x
 *   faster than wasm on a 2-core machine (bench/README.md), and on every core.
 * - `anneal-cuda`: the same backend on the CUDA device (tensors in GPU memory), where a GPU
 *   answers; its device check passed on an H200 (bench/README.md). Before anneal-cpu: on a
 *   machine with a GPU it is the faster (the CNN's step 18x anneal-cpu's on 2 cores), and where
 *   none answers its probe fails at once. `anneal-cuda-host` (by name only) is it on the host
 *   build of the CUDA device, which is how CI tests it (slow: no oneDNN).
 * - `wasm`: tfjs-backend-wasm (XNNPACK SIMD, one thread in Node), which always installs: the
 *   default where anneal-cpu is not built.
 * - `cpu`: tfjs-backend-cpu, plain JavaScript, the last resort.
 * Each candidate is tried by importing its package (or registering it) and calling
 * tf.setBackend, whose `false` (it does not throw when a backend fails to start) is always
 * checked; the reason tfjs only prints is captured instead, so `auto` stays quiet and a forced
 * backend that fails can say why in one line.
 */
import * as tf from '@tensorflow/tfjs-core';
import { registerAnnealCpu, registerAnnealCuda } from '../backend/index.js';
import { probeCuda } from '../kernels/index.js';
import { UsageError } from '../errors.js';

/** Every backend a user may name. */
export const BACKEND_NAMES = [
  'tensorflow',
  'wasm',
  'cpu',
  'anneal-cpu',
  'anneal-cuda',
  'anneal-cuda-host',
] as const;
export type TfBackendName = (typeof BACKEND_NAMES)[number];
export type BackendRequest = 'auto' | TfBackendName;

/** What `auto` tries, in order (why: the header). */
export const BACKEND_PREFERENCE: readonly TfBackendName[] = [
  'tensorflow',
  'anneal-cuda',
  'anneal-cpu',
  'wasm',
  'cpu',
];

interface Candidate {
  /** What it is, for `anneal list backends`. */
  summary: string;
  /** Packages tried in order; the first that imports registers the backend. */
  packages: readonly string[];
  /** Or: registers the backend itself (throws why it cannot). */
  register?: () => void;
  fix: string;
}

const CANDIDATES: Readonly<Record<TfBackendName, Candidate>> = {
  tensorflow: {
    summary: 'libtensorflow through @tensorflow/tfjs-node(-gpu), when the user installs it',
    packages: ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'],
    fix: 'install @tensorflow/tfjs-node-gpu (needs CUDA 11.2 and cuDNN 8.1) or @tensorflow/tfjs-node, or use --backend wasm',
  },
  wasm: {
    summary:
      'tfjs-backend-wasm (XNNPACK, SIMD, one thread in Node), with anneal gradient kernels; ' +
      'always installed',
    packages: ['@tensorflow/tfjs-backend-wasm'],
    fix: 'reinstall @tensorflow/tfjs-backend-wasm (its dist/*.wasm files must be present), or use --backend cpu',
  },
  cpu: {
    summary: "tfjs-backend-cpu: plain JavaScript, tfjs's reference",
    packages: ['@tensorflow/tfjs-backend-cpu'],
    fix: 'reinstall @tensorflow/tfjs-backend-cpu',
  },
  'anneal-cpu': {
    summary:
      "anneal's own backend, host device: oneDNN convolutions and matmuls, OpenMP loops on " +
      '--threads / ANNEAL_THREADS threads (default every core); built where libdnnl-dev is installed',
    packages: [],
    register: registerAnnealCpu,
    fix: 'install oneDNN (apt-get install libdnnl-dev) and run `npm run build:addon`, or use --backend wasm',
  },
  'anneal-cuda': {
    summary:
      "anneal's own backend, CUDA device: tensors, gradients and kernels in GPU memory; " +
      'built where nvcc is found, runs where a GPU answers (checked on an H200)',
    packages: [],
    register: () =>
      void registerAnnealCuda('cuda', () => {
        const probe = probeCuda();
        return probe.ok ? null : (probe.reason ?? 'no GPU');
      }),
    fix: 'run on a machine with an NVIDIA GPU and driver, with the addon built by nvcc (`npm run build:addon`), or use --backend anneal-cpu',
  },
  'anneal-cuda-host': {
    summary:
      'anneal-cuda on the host build of the CUDA device (the same kernels as loops, no GPU): ' +
      'for tests; slow',
    packages: [],
    register: () => void registerAnnealCuda('host'),
    fix: 'install cmake and a C++17 compiler and run `npm run build:addon`',
  },
};

export interface BackendAttempt {
  backend: TfBackendName;
  ok: boolean;
  /** Why it did not start (one line); absent when ok. */
  reason?: string;
}

export interface BackendChoice {
  backend: TfBackendName;
  /** Every candidate tried, in order, with the reason each failed one gave. */
  attempts: BackendAttempt[];
}

/** Every backend with what it is (`anneal list backends`). */
export function describeBackends(): { name: TfBackendName; summary: string }[] {
  return BACKEND_NAMES.map((name) => ({ name, summary: CANDIDATES[name].summary }));
}

export function isBackendRequest(value: string): value is BackendRequest {
  return value === 'auto' || (BACKEND_NAMES as readonly string[]).includes(value);
}

/** Parses a user-given backend name (flag or ANNEAL_BACKEND), naming the source on error. */
export function parseBackendRequest(value: string, source: string): BackendRequest {
  if (isBackendRequest(value)) return value;
  throw new UsageError(
    'ANNEAL_BAD_BACKEND',
    `${source} is '${value}', expected one of auto, ${BACKEND_NAMES.join(', ')}: pass one of those`,
  );
}

function firstLine(text: string): string {
  return (
    text
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l.length > 0) ?? 'unknown reason'
  );
}

/** Imports the first package of the candidate that loads; returns null or the failure reason. */
async function importBackendPackage(candidate: Candidate): Promise<string | null> {
  if (candidate.register) {
    try {
      candidate.register();
      return null;
    } catch (e) {
      return firstLine((e as Error).message);
    }
  }
  const failures: string[] = [];
  for (const pkg of candidate.packages) {
    try {
      await import(pkg);
      return null;
    } catch (e) {
      const code = (e as { code?: string }).code;
      const notInstalled = code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
      failures.push(
        notInstalled
          ? `${pkg} is not installed`
          : `${pkg} failed to load (${firstLine(String(e))})`,
      );
    }
  }
  return failures.join('; ');
}

/**
 * tf.setBackend that returns the failure reason instead of printing it: tfjs reports why a
 * backend failed to initialise only through console.warn, so that is captured for the call.
 */
async function setBackendQuietly(name: string): Promise<string | null> {
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (...args: unknown[]) => void warnings.push(args.map(String).join(' '));
  try {
    // No tf.ready() after a failure: it would go and initialise some other backend.
    const ok = await tf.setBackend(name);
    if (ok && tf.getBackend() === name) return null;
    const cause = warnings.find((w) => !w.startsWith('Initialization of backend'));
    return `tf.setBackend('${name}') returned false${cause ? `: ${firstLine(cause)}` : ''}`;
  } catch (e) {
    return `tf.setBackend('${name}') threw: ${firstLine(String(e))}`;
  } finally {
    console.warn = warn;
  }
}

async function tryBackend(name: TfBackendName): Promise<BackendAttempt> {
  const importFailure = await importBackendPackage(CANDIDATES[name]);
  if (importFailure) return { backend: name, ok: false, reason: importFailure };
  const startFailure = await setBackendQuietly(name);
  return startFailure
    ? { backend: name, ok: false, reason: startFailure }
    : { backend: name, ok: true };
}

/**
 * Starts the requested backend, or in `auto` the first of BACKEND_PREFERENCE that starts.
 * A forced backend that cannot start throws UsageError ANNEAL_BACKEND_UNAVAILABLE (one line:
 * the backend, the reason, the fix) and leaves the previously active backend in place.
 */
export async function selectBackend(request: BackendRequest): Promise<BackendChoice> {
  const previous = tf.engine().backendName;
  const order = request === 'auto' ? BACKEND_PREFERENCE : [request];
  const attempts: BackendAttempt[] = [];
  for (const name of order) {
    const attempt = await tryBackend(name);
    attempts.push(attempt);
    if (attempt.ok) return { backend: name, attempts };
  }
  // A failed tf.setBackend leaves the engine pointing at the backend that did not start.
  if (previous && previous !== tf.engine().backendName) await setBackendQuietly(previous);
  if (request !== 'auto') {
    throw new UsageError(
      'ANNEAL_BACKEND_UNAVAILABLE',
      `backend '${request}' is unavailable: ${attempts[0].reason}; to fix: ${CANDIDATES[request].fix}`,
    );
  }
  const reasons = attempts.map((a) => `${a.backend}: ${a.reason}`).join('; ');
  throw new UsageError(
    'ANNEAL_BACKEND_UNAVAILABLE',
    `no TensorFlow.js backend could start (${reasons}); to fix: ${CANDIDATES.cpu.fix}`,
  );
}

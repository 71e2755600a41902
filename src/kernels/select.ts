/**
 * Kernel selection: `auto` takes the first of ORDER that loads and says once which it took; an
 * explicit choice that cannot load throws one KernelError with every candidate's reason and what
 * to do (the loader of sharp is the model).
 *
 * `auto` takes cuda only for tensors that live on the CUDA device (`tensors: 'cuda'`, i.e. the
 * anneal-cuda tfjs backend, see DEVICE_BACKENDS) and when a device answers. The other tfjs
 * backends keep their tensors in host memory (anneal-cpu, wasm, cpu, and tensorflow, whose
 * tensors anneal reads through dataSync), and CUDA kernels on host tensors upload the gradients
 * and download the weights on every step (8N bytes of PCIe plus host copies around a ~0.1 ms
 * kernel), so for them `auto` takes the host-side kernels. An explicit `cuda` is still honoured.
 */
import { AnnealError } from '../errors.js';
import { loadCudaOps, loadHostOps, probeCuda } from './cuda.js';
import { KernelError } from './errors.js';
import { createJsOps } from './js.js';
import type { FlatOps, KernelBackendName, KernelChoice } from './types.js';
import { createWasmOps } from './wasm.js';

/*
 * auto's order, fastest first. wasm comes before host. On 2 cores (Xeon, node 20, best of 20 at
 * 1M values) host's vectorised AdamW loop beats wasm (0.42 ms vs 0.56; 5.9 vs 12.6 ms at 10M),
 * axpy and EMA are even (0.25 vs 0.27 ms), but its reductions, which sum each chunk in float64
 * one value at a time so that the bits never depend on the thread count, take 1.7x (dot) to 3x
 * (sumSquares) wasm's time; js is 10-20x slower than either.
 */
const ORDER = ['cuda', 'wasm', 'host', 'js'] as const satisfies readonly KernelBackendName[];
/** Every kernels choice, for flags and recipes: auto, then the backends in auto's order. */
export const KERNEL_CHOICES = ['auto', ...ORDER] as const satisfies readonly KernelChoice[];

/**
 * The backends auto tries, in order, for tensors living in `tensors`: never cuda for 'host';
 * the host build of the CUDA kernels first for 'cuda-host', whose tensors are its vectors.
 */
export function autoOrder(tensors: TensorResidence): readonly KernelBackendName[] {
  if (tensors === 'cuda') return ORDER;
  const host = ORDER.filter((name) => name !== 'cuda');
  return tensors === 'cuda-host' ? ['host', ...host.filter((name) => name !== 'host')] : host;
}

/**
 * Where the vectors' tensors live: 'host' (host memory: anneal-cpu, wasm, cpu, tensorflow),
 * 'cuda' (device memory of the CUDA device: anneal-cuda) or 'cuda-host' (the vectors of the CUDA
 * device's host build: anneal-cuda-host, which tests anneal-cuda's path without a GPU).
 */
export type TensorResidence = 'host' | 'cuda' | 'cuda-host';

export interface FlatOpsOptions {
  /**
   * Where the tensors these kernels will work on live (default 'host'): `auto` takes cuda only
   * for 'cuda'. tensorResidence(tf.getBackend()) gives it for a tfjs backend.
   */
  tensors?: TensorResidence;
}

/**
 * The tfjs backends whose tensors live in the kernels addon's DeviceVectors (src/backend's
 * anneal-cuda, and anneal-cuda-host on the addon's host build): `auto` pairs them with the
 * kernels of the same addon, so a step's vectors and tensors share one memory.
 */
export const DEVICE_BACKENDS: Readonly<Record<string, TensorResidence>> = {
  'anneal-cuda': 'cuda',
  'anneal-cuda-host': 'cuda-host',
};

/** The residence of a tfjs backend's tensors, by the backend's name ('host' when unknown). */
export function tensorResidence(backend: string | undefined | null): TensorResidence {
  return backend && Object.hasOwn(DEVICE_BACKENDS, backend) ? DEVICE_BACKENDS[backend] : 'host';
}

const HOST_TENSORS_REASON =
  'not for host-resident tensors (auto takes cuda only with a device tfjs backend; ' +
  'ask for kernels=cuda to force it)';

const LOADERS: Record<KernelBackendName, () => FlatOps> = {
  cuda: loadCudaOps,
  host: loadHostOps,
  wasm: createWasmOps,
  js: createJsOps,
};

const SOLUTIONS: Record<KernelBackendName, string[]> = {
  cuda: [
    'Build the CUDA addon: `npm run build:addon` (needs nvcc and cmake; `npm install` builds it when both are present).',
    'Check that a GPU and its driver answer: `nvidia-smi`.',
  ],
  host: [
    'Build the host kernels: install cmake and g++, then run `npm run build:addon` (with OpenMP, which g++ has, they use every core).',
  ],
  wasm: ['Build the WASM kernels: `npm run build:asm`.'],
  js: [],
};

const reasonOf = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** Whether a backend loads here, without keeping it (cuda asks its probe, not a device context). */
function status(name: KernelBackendName): string {
  if (name === 'cuda') {
    const probe = probeCuda();
    return probe.ok
      ? `available${probe.device ? ` (${probe.device})` : ''}`
      : (probe.reason ?? 'unavailable');
  }
  try {
    LOADERS[name]().dispose();
    return 'available';
  } catch (e) {
    return reasonOf(e);
  }
}

function parseChoice(choice: string, from: string): KernelChoice {
  const normalized = choice.trim().toLowerCase() || 'auto';
  if (!(KERNEL_CHOICES as readonly string[]).includes(normalized)) {
    throw new KernelError(
      'ANNEAL_KERNEL_CHOICE',
      `${from}=${JSON.stringify(choice)} is not one of ${KERNEL_CHOICES.join(', ')}; ` +
        `pass one of those (auto picks the fastest that loads).`,
    );
  }
  return normalized as KernelChoice;
}

function unavailableError(
  choice: KernelChoice,
  failures: Map<KernelBackendName, string>,
): KernelError {
  const lines = [`the ${choice} kernels could not be loaded:`];
  for (const name of ORDER) lines.push(`  ${name}: ${failures.get(name) ?? status(name)}`);
  lines.push('Possible solutions:');
  for (const [name, reason] of failures) {
    if (reason === HOST_TENSORS_REASON) continue; // not a load failure: nothing to install
    for (const s of SOLUTIONS[name]) lines.push(`- ${s}`);
  }
  lines.push(
    '- Use kernels that load here: ANNEAL_KERNELS=auto (or --kernels auto) picks the fastest one.',
  );
  return new KernelError('ANNEAL_KERNEL_UNAVAILABLE', lines.join('\n'));
}

/** What auto took, each said once per process. */
const announced = new Set<KernelBackendName>();

function announce(name: KernelBackendName, failures: Map<KernelBackendName, string>): void {
  if (announced.has(name)) return;
  announced.add(name);
  const skipped = [...failures].map(([other, reason]) => `${other}: ${reason.split('\n')[0]}`);
  console.error(`anneal: kernels=${name}${skipped.length ? ` (${skipped.join('; ')})` : ''}`);
}

/**
 * The FlatOps backend for `choice` (default: env ANNEAL_KERNELS, else 'auto'). For auto,
 * `options.tensors` says where the tensors live (default 'host': never cuda). Throws
 * KernelError 'ANNEAL_KERNEL_CHOICE' for an unknown choice and 'ANNEAL_KERNEL_UNAVAILABLE' when
 * the chosen backend (or, for auto, every backend) cannot load.
 */
export function createFlatOps(choice?: KernelChoice, options: FlatOpsOptions = {}): FlatOps {
  const from = choice === undefined ? 'ANNEAL_KERNELS' : 'kernels';
  const wanted = parseChoice(choice ?? process.env.ANNEAL_KERNELS ?? 'auto', from);
  const failures = new Map<KernelBackendName, string>();
  const tensors = options.tensors ?? 'host';
  if (wanted === 'auto' && tensors !== 'cuda') failures.set('cuda', HOST_TENSORS_REASON);
  for (const name of wanted === 'auto' ? autoOrder(tensors) : [wanted]) {
    try {
      const ops = LOADERS[name]();
      if (wanted === 'auto') announce(name, failures);
      return ops;
    } catch (e) {
      // A setting the user got wrong (ANNEAL_THREADS) is its own error, not "unavailable".
      if (e instanceof AnnealError && !(e instanceof KernelError)) throw e;
      failures.set(name, reasonOf(e));
    }
  }
  throw unavailableError(wanted, failures);
}

/**
 * The engine: which TensorFlow.js backend runs, and the kernels that make training fast on it.
 * `initEngine()` once before building models; it is idempotent and cheap to call again. `auto`
 * takes tensorflow (when the user installed tfjs-node), else anneal-cpu (when built), else wasm,
 * else cpu: why in backend.ts. On anneal-cpu, `threads` (--threads) or else ANNEAL_THREADS sets
 * the host device's threads; by default it uses every core.
 */
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core's node bundle registers no gradients; tfjs-layers' bundle registers all of them.
// Importing it here means tf.grad works wherever the engine was initialised.
import '@tensorflow/tfjs-layers';
import {
  parseBackendRequest,
  selectBackend,
  type BackendAttempt,
  type BackendRequest,
  type TfBackendName,
} from './backend.js';
import { FAST_GRADIENT_KERNELS, useFastGradients } from './gradients.js';
import { NATIVE_BACKENDS, setAnnealCpuThreads } from '../backend/index.js';
import { chooseThreads } from '../machine.js';

export {
  BACKEND_NAMES,
  describeBackends,
  BACKEND_PREFERENCE,
  parseBackendRequest,
  selectBackend,
  type BackendAttempt,
  type BackendChoice,
  type BackendRequest,
  type TfBackendName,
} from './backend.js';
export { FAST_GRADIENT_KERNELS, fastGradientsEnabled, useFastGradients } from './gradients.js';
export {
  ParamVector,
  inferKind,
  decayFactors,
  DEFAULT_DECAY_BY_KIND,
  SEGMENT_KINDS,
  type ParamSegment,
  type SegmentKind,
  type DecayOptions,
  type DecayRule,
  type DecayFactor,
  type ParamVectorOptions,
  type ParamSource,
} from './param-vector.js';
export { StepGate, type GateReading } from './step-gate.js';
export {
  conv2dFilterGrad,
  conv2dInputGradViaForward,
  depthwiseFilterGrad,
  depthwiseInputGrad,
} from './conv-math.js';

export interface EngineOptions {
  /** 'auto' (default) takes the first of tensorflow, anneal-cpu, wasm, cpu that starts; env ANNEAL_BACKEND applies when this is absent or 'auto'. */
  backend?: BackendRequest;
  /** anneal-cpu's threads, a whole number >= 1 (default: env ANNEAL_THREADS, else every core). */
  threads?: number;
  /** Our convolution/matmul gradient kernels (default true). */
  fastGradients?: boolean;
}

export interface EngineState {
  backend: TfBackendName;
  /** Whether our gradient kernels are active on this backend (never on 'tensorflow', which has native ones). */
  fastGradients: boolean;
  /** The candidates tried when the backend was chosen, with each failure's reason. */
  attempts: BackendAttempt[];
  /** Threads anneal-cpu's kernels run on; null on the other backends, whose threads anneal does not set. */
  threads: number | null;
}

let current: EngineState | undefined;

function resolveRequest(option: BackendRequest | undefined): BackendRequest {
  if (option !== undefined && option !== 'auto')
    return parseBackendRequest(option, 'backend option');
  const fromEnv = process.env.ANNEAL_BACKEND;
  if (fromEnv) return parseBackendRequest(fromEnv, 'ANNEAL_BACKEND');
  return 'auto';
}

/**
 * Starts a backend and switches the fast gradients on or off. Returns which backend was taken
 * (printing nothing). A forced backend that cannot start throws UsageError
 * 'ANNEAL_BACKEND_UNAVAILABLE'; an unknown name throws 'ANNEAL_BAD_BACKEND'.
 */
export async function initEngine(opts: EngineOptions = {}): Promise<EngineState> {
  const request = resolveRequest(opts.backend);
  // Checked whatever the backend, so a bad value never passes unnoticed; kept for the host
  // kernels (--kernels host), which load later and take the same count.
  chooseThreads(opts.threads, 'threads option');
  const wantFast = opts.fastGradients ?? true;
  const reuse =
    current !== undefined &&
    tf.engine().backendName === current.backend &&
    (request === 'auto' || request === current.backend);
  const chosen = reuse
    ? { backend: current!.backend, attempts: current!.attempts }
    : await selectBackend(request);
  if (chosen.backend === 'cpu') silenceCpuBanner();
  // After the backend's package is loaded, so its kernels exist to be replaced.
  useFastGradients(wantFast);
  current = {
    backend: chosen.backend,
    // anneal-cpu's conv and matmul gradients are native kernels of its own; of the fast
    // gradients it takes the fused Relu gradient.
    fastGradients:
      wantFast &&
      (NATIVE_BACKENDS.has(chosen.backend) ||
        ((chosen.backend === 'wasm' || chosen.backend === 'cpu') &&
          FAST_GRADIENT_KERNELS[chosen.backend].length > 0)),
    attempts: chosen.attempts,
    threads: chosen.backend === 'anneal-cpu' ? setAnnealCpuThreads(opts.threads) : null,
  };
  return current;
}

/** The backend, with anneal-cpu's threads: 'anneal-cpu (2 threads)', 'wasm'. */
export function describeEngine(engine: Pick<EngineState, 'backend' | 'threads'>): string {
  const { backend, threads } = engine;
  if (threads === null) return backend;
  return `${backend} (${threads} thread${threads === 1 ? '' : 's'})`;
}

/**
 * tfjs-cpu prints a banner recommending tfjs-node on its first tensor; backend selection has
 * already tried that, so the banner is only noise in anneal's output.
 */
function silenceCpuBanner(): void {
  (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
}

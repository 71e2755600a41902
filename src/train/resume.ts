/**
 * The Trainer's checkpoints: what one holds and how a resume checks it before changing anything.
 *
 * Tensors: `param:<segment name>` in the ParamVector's order (so the data region is the flat
 * parameter vector and the entries are its segment table), `optimizer/<buffer>`, and
 * `method/<name>/...` for arrays in method state. Meta: the segment table with kinds, the
 * optimizer's step and hyper-parameters, method state, the RNG scheme and seed, the data-loader
 * position and the timestamp.
 *
 * Resuming is exact because nothing random or stateful lives outside the checkpoint: the data
 * order is a pure function of (seed, epoch), per-step randomness of (seed, step, stream), and
 * schedules of the step.
 */
import { AnnealError } from '../errors.js';
import type { OptimizerStateDict } from '../optim/index.js';
import {
  loadCheckpoint,
  packState,
  unpackState,
  type CheckpointContents,
  type NamedArray,
  type PackableValue,
} from './checkpoint.js';
import type { Method, MethodState } from './method.js';
import type { Timestamp, TrainState } from './state.js';

const KIND = 'anneal-trainer';
const VERSION = 1;
const PARAM_PREFIX = 'param:';
const OPTIMIZER_PREFIX = 'optimizer/';

interface SegmentMeta {
  name: string;
  shape: number[];
  kind: string;
}

interface TrainerMeta {
  kind: typeof KIND;
  version: number;
  model: { params: number; segments: SegmentMeta[] };
  optimizer: Omit<OptimizerStateDict, 'buffers'> & { buffers: string[] };
  methods: Record<string, unknown>;
  rng: { seed: number; scheme: string };
  loader: {
    dataset: string;
    length: number;
    batchSize: number;
    batchesPerEpoch: number;
    shuffle: boolean;
    epoch: number;
    batchInEpoch: number;
  };
  timestamp: Timestamp;
  metrics: unknown;
  trainer: unknown;
  maxSteps: number;
}

/** Everything a resume needs, checked against the Trainer it goes into. */
export interface RestoredCheckpoint {
  path: string;
  params: Float32Array;
  optimizer: OptimizerStateDict;
  methods: Map<string, MethodState>;
  timestamp: Timestamp;
  metrics: Record<string, number>;
  /** The Trainer's own bookkeeping, as it passed it to trainerCheckpoint. */
  trainer: PackableValue;
}

export function trainerCheckpoint(
  state: TrainState,
  methods: readonly Method[],
  trainer: PackableValue,
): CheckpointContents {
  const { pv, optimizer, loader } = state;
  const params = pv.ops.download(pv.params);
  const tensors: NamedArray[] = pv.segments.map((s) => ({
    name: PARAM_PREFIX + s.name,
    shape: [...s.shape],
    data: params.subarray(s.offset, s.offset + s.length),
  }));
  const { buffers, ...optimizerMeta } = optimizer.stateDict();
  const trainerPacked = packState(trainer, 'trainer');
  tensors.push(...trainerPacked.tensors);
  for (const [key, data] of Object.entries(buffers)) {
    tensors.push({ name: OPTIMIZER_PREFIX + key, shape: [data.length], data });
  }
  const methodState: Record<string, unknown> = {};
  for (const method of methods) {
    if (!method.stateDict) continue;
    const packed = packState(method.stateDict(), `method/${method.name}`);
    methodState[method.name] = packed.json;
    tensors.push(...packed.tensors);
  }
  const meta: TrainerMeta = {
    kind: KIND,
    version: VERSION,
    model: {
      params: pv.length,
      segments: pv.segments.map((s) => ({ name: s.name, shape: [...s.shape], kind: s.kind })),
    },
    optimizer: { ...optimizerMeta, buffers: Object.keys(buffers) },
    methods: methodState,
    rng: {
      seed: state.seed,
      scheme: 'data order f(seed, epoch); per-step seeds f(seed, step, stream)',
    },
    loader: {
      dataset: state.trainData.name,
      length: state.trainData.length,
      batchSize: loader.batchSize,
      batchesPerEpoch: loader.batchesPerEpoch,
      shuffle: loader.shuffle,
      epoch: state.timestamp.epoch,
      batchInEpoch: state.timestamp.batchInEpoch,
    },
    timestamp: { ...state.timestamp },
    metrics: packState(state.metrics, 'metrics').json,
    trainer: trainerPacked.json,
    maxSteps: state.maxSteps,
  };
  return { tensors, meta: meta as unknown as Record<string, unknown> };
}

function mismatch(path: string, what: string, fix: string): AnnealError {
  return new AnnealError(
    'ANNEAL_CHECKPOINT_MISMATCH',
    `cannot load checkpoint ${path}: ${what}; nothing was changed. ${fix}`,
  );
}

/**
 * tfjs makes variable names unique with a global counter ('dense_Dense3/kernel'), so the same
 * model built twice in one process has other names: compare names without those counters.
 */
function structuralName(name: string): string {
  return name.replace(/\d+(?=\/|$)/g, '');
}

/** Reads and checks a checkpoint against `state` and `methods`; changes nothing. */
export function readTrainerCheckpoint(
  path: string,
  state: TrainState,
  methods: readonly Method[],
): RestoredCheckpoint {
  const contents = loadCheckpoint(path);
  const meta = contents.meta as unknown as TrainerMeta;
  if (
    meta?.kind !== KIND ||
    meta.version !== VERSION ||
    ![meta.model?.segments, meta.optimizer?.buffers, meta.loader, meta.timestamp].every(Boolean)
  ) {
    throw mismatch(
      path,
      `it is not a version-${VERSION} Trainer checkpoint (kind ${JSON.stringify(meta?.kind)}, ` +
        `version ${JSON.stringify(meta?.version)})`,
      'Pass a checkpoint written by the Trainer (checkpoints/checkpoint-<step>.ck).',
    );
  }
  const fix = 'Resume with the model, data and options the run was started with.';
  const { pv } = state;
  const saved = meta.model.segments;
  const total =
    `${meta.model.params} parameters in ${saved.length} weights, this model has ` +
    `${pv.length} in ${pv.segments.length}`;
  for (let i = 0; i < Math.max(saved.length, pv.segments.length); i++) {
    const [c, s] = [saved[i], pv.segments[i]];
    const describe = (w: { name: string; shape: readonly number[] } | undefined) =>
      w ? `'${w.name}' [${w.shape}]` : 'nothing';
    if (
      !c ||
      !s ||
      structuralName(c.name) !== structuralName(s.name) ||
      `${c.shape}` !== `${s.shape}`
    ) {
      throw mismatch(
        path,
        `weight #${i} differs: the checkpoint has ${describe(c)}, this model has ${describe(s)} ` +
          `(the checkpoint's model has ${total})`,
        fix,
      );
    }
  }
  const byName = new Map(contents.tensors.map((t) => [t.name, t]));
  const params = new Float32Array(pv.length);
  saved.forEach((c, i) => {
    const t = byName.get(PARAM_PREFIX + c.name);
    const segment = pv.segments[i];
    if (!t || t.data.length !== segment.length) {
      throw new AnnealError(
        'ANNEAL_CHECKPOINT_CORRUPT',
        `${path} lacks the values of weight '${c.name}' (or has the wrong number); re-run the training`,
      );
    }
    params.set(t.data, segment.offset);
  });

  const { optimizer } = state;
  if (meta.optimizer.name !== optimizer.name) {
    throw mismatch(
      path,
      `the checkpoint's optimizer is '${meta.optimizer.name}', this Trainer's is '${optimizer.name}'`,
      fix,
    );
  }
  const buffers: Record<string, Float32Array> = {};
  for (const key of meta.optimizer.buffers) {
    const t = byName.get(OPTIMIZER_PREFIX + key);
    if (!t) {
      throw new AnnealError(
        'ANNEAL_CHECKPOINT_CORRUPT',
        `${path} lacks the optimizer buffer '${key}'; re-run the training`,
      );
    }
    buffers[key] = t.data;
  }

  const { loader, trainData } = state;
  const position = meta.loader;
  const dataDiffers: string[] = [];
  if (position.length !== trainData.length)
    dataDiffers.push(`${position.length} training samples, this run has ${trainData.length}`);
  if (position.batchSize !== loader.batchSize)
    dataDiffers.push(`batch size ${position.batchSize}, this run has ${loader.batchSize}`);
  if (position.shuffle !== loader.shuffle)
    dataDiffers.push(`shuffle ${position.shuffle}, this run has ${loader.shuffle}`);
  if (dataDiffers.length > 0) {
    throw mismatch(path, `the checkpoint's run had ${dataDiffers.join('; ')}`, fix);
  }
  const { step, samples } = meta.timestamp;
  const planned = state.timeline.samplesAt(step);
  if (planned !== samples) {
    throw mismatch(
      path,
      `the checkpoint's run trained on ${samples} samples in its ${step} steps, this run's batch ` +
        `sizes make ${planned}`,
      'Resume with the batch size the run was started with (with a batch-size method, also its ' +
        "options and the run's length, which its cycle spans).",
    );
  }
  if (meta.timestamp.step > state.maxSteps) {
    throw mismatch(
      path,
      `the checkpoint is at step ${meta.timestamp.step}, beyond this run's length of ${state.maxSteps} steps`,
      'Give a longer maximum duration to continue the run.',
    );
  }

  const stateful = methods.filter((m) => m.stateDict).map((m) => m.name);
  const savedMethods = Object.keys(meta.methods);
  const missing = savedMethods.filter((n) => !stateful.includes(n));
  const extra = stateful.filter((n) => !savedMethods.includes(n));
  if (missing.length > 0 || extra.length > 0) {
    throw mismatch(
      path,
      `the methods differ: the checkpoint has state for [${savedMethods.join(', ')}], this Trainer ` +
        `has stateful methods [${stateful.join(', ')}]`,
      fix,
    );
  }
  const methodStates = new Map<string, MethodState>();
  for (const name of savedMethods) {
    methodStates.set(name, unpackState(meta.methods[name], byName, path) as MethodState);
  }

  return {
    path,
    params,
    optimizer: { ...meta.optimizer, buffers },
    methods: methodStates,
    timestamp: { ...meta.timestamp },
    metrics: unpackState(meta.metrics, byName, path) as Record<string, number>,
    trainer: unpackState(meta.trainer, byName, path),
  };
}

/** Loads a checked checkpoint into the Trainer's parameters, optimizer, methods and time. */
export function applyTrainerCheckpoint(
  restored: RestoredCheckpoint,
  state: TrainState,
  methods: readonly Method[],
): void {
  // The optimizer checks its state before changing anything: load it first.
  state.optimizer.loadStateDict(restored.optimizer);
  state.pv.ops.upload(state.pv.params, restored.params);
  state.pv.writeBack();
  for (const method of methods) {
    const saved = restored.methods.get(method.name);
    if (saved) method.loadStateDict?.(saved);
  }
  state.timestamp = { ...restored.timestamp };
  state.metrics = { ...restored.metrics };
  state.lastCheckpoint = restored.path;
}

/**
 * The Trainer: trains a model on a data set, one fused optimizer kernel call per step.
 *
 * Per batch: forward (training mode) -> loss (softmax cross-entropy on logits unless a method
 * replaces state.lossFn) -> gradients of every trainable variable (tf.variableGrads) -> gathered
 * into the ParamVector's flat gradient -> schedules written into optimizer.hyper ->
 * optimizer.step(pv) (one kernel call over all parameters) -> weights written back to the model.
 * Events fire around each stage (events.ts); methods change state, callbacks watch.
 *
 * Schedules are MULTIPLIERS of the optimizer's base hyper-parameters (Composer's convention):
 * before the step at time t, hyper.lr = base.lr * schedules.lr(t), and likewise weightDecay and
 * momentum (SGD momentum or Adam's beta1); so give registry specs without `base`/`peak` (they
 * default to 1, a multiplier). One exception: the momentum that a 'cyclic' or
 * 'onecycle' spec for the lr produces (from its baseMomentum/maxMomentum values) is used as the
 * momentum value itself, when no momentum schedule is given.
 *
 * Batches are drawn from the loader by samples seen (epoch, offset), so the batch size may change
 * from step to step: one method may vary it (Method.batchSize, e.g. cyclical batch size), and the
 * run's Timeline is then planned from it (Timeline.ofSchedule).
 *
 * Evaluation runs at `evalInterval` and at the end of the run; its time is kept apart from
 * training time. Checkpoints (checkpoint.ts, resume.ts) resume bit-exactly.
 */
import * as tf from '@tensorflow/tfjs-core';
import { DataLoader, deriveSeed, type Batch, type Dataset } from '../data/index.js';
import { ParamVector, type ParamVectorOptions } from '../engine/param-vector.js';
import { UsageError } from '../errors.js';
import {
  createFlatOps,
  tensorResidence,
  type FlatOps,
  type KernelChoice,
} from '../kernels/index.js';
import {
  createOptimizer,
  type Optimizer,
  type OptimizerHyper,
  type OptimizerSpec,
} from '../optim/index.js';
import { createSchedule, type Schedule, type ScheduleSpec } from '../schedules/index.js';
import { CheckpointStore, resolveCheckpointPath, type PackableValue } from './checkpoint.js';
import { EventDispatcher, type TraceEntry } from './dispatch.js';
import { Event } from './events.js';
import { evaluate, type Evaluation } from './evaluate.js';
import { batchTensors, crossEntropy, top1Hits } from './loss.js';
import type { Callback, Method } from './method.js';
import { forward, isLayersModel, trainableVariables } from './model.js';
import { applyTrainerCheckpoint, readTrainerCheckpoint, trainerCheckpoint } from './resume.js';
import type { LossFn, ModelLike, Timestamp, TrainState } from './state.js';
import { Interval } from './interval.js';
import { RunningMetrics, type EpochSums } from './running-metrics.js';
import { Timeline, type DurationLike } from '../time/index.js';

/** A schedule function of the step, or a registry spec such as `{ name: 'cosine' }`. */
export type ScheduleLike = Schedule | ScheduleSpec;

export interface TrainerSchedules {
  lr?: ScheduleLike;
  weightDecay?: ScheduleLike;
  /** SGD momentum or Adam's beta1 (optimizer.momentumKey). */
  momentum?: ScheduleLike;
}

export interface CheckpointOptions {
  /** Directory of checkpoint-<step>.ck files and `latest`. */
  dir: string;
  /** Default '1ep'. A checkpoint is also written when fit() returns. */
  interval?: DurationLike;
  /** Checkpoints kept (default 3). */
  keep?: number;
}

export interface TrainerOptions {
  model: ModelLike;
  trainData: Dataset;
  /** Evaluated at evalInterval and at the end of the run. */
  evalData?: Dataset;
  /** The run's length: '2ep', '500ba', '12000sp' (not 'dur'). */
  maxDuration: DurationLike;
  /** Default 64. */
  batchSize?: number;
  /** Seeds the data order and per-step randomness (default 0). Initial weights are the model's. */
  seed?: number;
  /** Default true. */
  shuffle?: boolean;
  /** Drop a last partial batch (default false). */
  dropLast?: boolean;
  /** FlatOps backend, or an instance (the Trainer then does not dispose it). Default: env ANNEAL_KERNELS, else 'auto'. */
  kernels?: KernelChoice | FlatOps;
  /** Registry name or spec (default 'adamw'), or a factory over the Trainer's ParamVector. */
  optimizer?: string | OptimizerSpec | ((pv: ParamVector) => Optimizer);
  schedules?: TrainerSchedules;
  /** Training and evaluation loss (default softmax cross-entropy on logits). */
  lossFn?: LossFn;
  methods?: readonly Method[];
  callbacks?: readonly Callback[];
  /** Default '1ep'. */
  evalInterval?: DurationLike;
  /** Default 500. */
  evalBatchSize?: number;
  checkpoint?: CheckpointOptions;
  /** A run directory, checkpoint directory or .ck file to resume from before the first fit(). */
  resumeFrom?: string;
  paramVector?: ParamVectorOptions;
  /** Record every event's methods in `trace` (grows with the run; for tests and debugging). */
  trace?: boolean;
}

/**
 * A stop request read synchronously between steps. An AbortSignal is one; a worker thread's task
 * gets one backed by a shared flag (src/runs/executor.ts), because a training loop of synchronous
 * steps never lets the thread's event loop deliver a message.
 */
export interface StopSignal {
  readonly aborted: boolean;
}

export interface FitOptions {
  /** Train at most this much more in this call (the run's length still applies). */
  duration?: DurationLike;
  /**
   * Stops this fit at the next step boundary when aborted (a checkpoint is written on return, as
   * always). Unlike a stop request, the run is not over: the next fit() or a resume goes on.
   */
  signal?: StopSignal;
}

export interface FitResult {
  timestamp: Timestamp;
  metrics: Record<string, number>;
  /** The latest evaluation, if any. */
  eval?: Evaluation;
  /** True when the run is over: its length reached or a stop requested. */
  runComplete: boolean;
  stopReason: string | null;
  checkpoint: string | null;
}

/** The Trainer's own bookkeeping that a checkpoint carries (with the epoch's sums). */
interface TrainerBook {
  lastEvalStep: number;
  lastEval: Evaluation | null;
  stopRequested: boolean;
  stopReason: string | null;
}

/** What a checkpoint carries of the Trainer's: its book and the epoch's sums (exact means). */
type CheckpointBook = TrainerBook & { epochSums: EpochSums };

const STEP_SEED_STREAM = 3;
const HYPER_FIELDS = ['lr', 'weightDecay', 'momentum'] as const;

export class Trainer {
  readonly state: TrainState;
  readonly ops: FlatOps;
  /** The optimizer's hyper-parameters before any schedule (what schedules multiply). */
  readonly baseHyper: Readonly<OptimizerHyper>;
  private readonly dispatcher: EventDispatcher;
  private readonly methods: readonly Method[];
  private readonly variables: tf.Variable[];
  private readonly schedules: Partial<Record<(typeof HYPER_FIELDS)[number], Schedule>> = {};
  private readonly absoluteMomentum: Schedule | undefined;
  private readonly evalInterval: Interval;
  private readonly checkpointInterval: Interval | null;
  private readonly store: CheckpointStore | null;
  private readonly ownsOps: boolean;
  private readonly baseLoss: LossFn;
  /** The epoch's train loss and accuracy, read from the backend only when someone looks. */
  private readonly running = new RunningMetrics();
  private book: TrainerBook = {
    lastEvalStep: -1,
    lastEval: null,
    stopRequested: false,
    stopReason: null,
  };
  private lastCheckpointStep = -1;
  private initialized = false;
  private resumePending: string | undefined;
  private disposed = false;

  constructor(readonly options: TrainerOptions) {
    const { model, trainData } = options;
    if (options.maxDuration === undefined) {
      throw new UsageError(
        'ANNEAL_BAD_OPTION',
        "the Trainer needs maxDuration, the run's length, e.g. '2ep', '500ba' or '12000sp'",
      );
    }
    const loader = new DataLoader(trainData, {
      batchSize: options.batchSize ?? 64,
      seed: options.seed ?? 0,
      shuffle: options.shuffle ?? true,
      dropLast: options.dropLast ?? false,
    });
    this.methods = options.methods ?? [];
    const timeline = runTimeline(loader, options.maxDuration, this.methods);
    const maxSteps = timeline.totalSteps!;
    this.evalInterval = interval('evalInterval', options.evalInterval ?? '1ep', timeline);
    this.checkpointInterval = options.checkpoint
      ? interval('checkpoint interval', options.checkpoint.interval ?? '1ep', timeline)
      : null;
    this.store = options.checkpoint
      ? new CheckpointStore(options.checkpoint.dir, options.checkpoint.keep ?? 3)
      : null;
    this.dispatcher = new EventDispatcher(
      this.methods,
      options.callbacks ?? [],
      options.trace ?? false,
    );
    this.baseLoss = options.lossFn ?? crossEntropy;

    this.ownsOps = typeof options.kernels !== 'object';
    // auto pairs the kernels with where the model's tensors live: cuda only for a device backend.
    this.ops =
      typeof options.kernels === 'object'
        ? options.kernels
        : createFlatOps(options.kernels, { tensors: tensorResidence(tf.getBackend()) });
    let pv: ParamVector | undefined;
    let optimizer: Optimizer | undefined;
    try {
      pv = ParamVector.create(
        isLayersModel(model) ? model : { variables: model.variables },
        this.ops,
        options.paramVector,
      );
      optimizer = buildOptimizer(options.optimizer ?? 'adamw', pv);
      this.baseHyper = Object.freeze({ ...optimizer.hyper });
      const schedules = options.schedules ?? {};
      for (const field of HYPER_FIELDS) {
        const built = schedules[field] && toSchedule(schedules[field], timeline);
        if (built) this.schedules[field] = built.schedule;
        if (field === 'lr' && !schedules.momentum) this.absoluteMomentum = built?.momentum;
      }
    } catch (e) {
      optimizer?.dispose();
      pv?.dispose();
      if (this.ownsOps) this.ops.dispose();
      throw e;
    }
    this.variables = trainableVariables(model);
    const seed = options.seed ?? 0;
    const running = this.running;
    const state: TrainState = {
      model,
      pv,
      optimizer,
      ops: this.ops,
      loader,
      trainData,
      evalData: options.evalData,
      timeline,
      maxSteps,
      seed,
      timestamp: {
        epoch: 0,
        batchInEpoch: 0,
        step: 0,
        samples: 0,
        trainSeconds: 0,
        evalSeconds: 0,
      },
      batch: null,
      outputs: null,
      loss: null,
      get lossValue() {
        return running.lossValue;
      },
      lossFn: this.baseLoss,
      skipStep: false,
      metrics: {},
      stopRequested: false,
      stopReason: null,
      runComplete: false,
      lastCheckpoint: null,
      stepSeed: (stream: number) =>
        deriveSeed(seed, STEP_SEED_STREAM, state.timestamp.step, stream),
    };
    this.state = state;
    this.resumePending = options.resumeFrom;
  }

  /** Every event run so far with the methods that ran (only with `trace: true`). */
  get trace(): readonly TraceEntry[] {
    return this.dispatcher.trace;
  }

  /** The methods that ran at the latest run of `event`. */
  lastRan(event: Event): readonly string[] {
    return this.dispatcher.lastRan.get(event) ?? [];
  }

  /**
   * Loads a checkpoint (a .ck file, a checkpoint directory or a run directory): parameters,
   * optimizer state, method state and time. A corrupt checkpoint, or one of another model,
   * optimizer, data set, batch size or method set, is refused with an AnnealError before
   * anything changes.
   */
  async resume(path: string): Promise<void> {
    this.checkAlive('resume');
    await this.init();
    const file = resolveCheckpointPath(path);
    const restored = readTrainerCheckpoint(file, this.state, this.methods);
    applyTrainerCheckpoint(restored, this.state, this.methods);
    const { epochSums, ...book } = restored.trainer as unknown as CheckpointBook;
    this.book = book;
    this.running.restore(epochSums);
    this.state.stopRequested = book.stopRequested;
    this.state.stopReason = book.stopReason;
    this.lastCheckpointStep = this.state.timestamp.step;
    this.resumePending = undefined;
    this.dispatcher.logger.log('resume', { path: file });
    await this.dispatcher.flush(this.state);
  }

  /** Trains until the run's length (or `duration` more, or a stop request). */
  async fit(opts: FitOptions = {}): Promise<FitResult> {
    this.checkAlive('fit');
    await this.init();
    if (this.resumePending !== undefined) await this.resume(this.resumePending);
    const s = this.state;
    const ts = () => s.timestamp;
    const stopAt =
      opts.duration === undefined
        ? s.maxSteps
        : Math.min(s.maxSteps, ts().step + s.timeline.stepsFrom(ts().step, opts.duration));
    s.runComplete = false;
    await this.dispatch(Event.FIT_START);
    const done = () => ts().step >= stopAt || s.stopRequested || opts.signal?.aborted === true;
    // The loader is positioned by samples seen: every epoch yields samplesPerEpoch samples.
    const epochSamples = s.loader.samplesPerEpoch;
    while (!done()) {
      if (ts().batchInEpoch === 0) await this.dispatch(Event.EPOCH_START);
      const offset = ts().samples - ts().epoch * epochSamples;
      await this.trainBatch(s.loader.take(ts().epoch, offset, s.timeline.batchSizeAt(ts().step)));
      const epochEnded = ts().samples === (ts().epoch + 1) * epochSamples;
      if (epochEnded) {
        s.timestamp = { ...ts(), epoch: ts().epoch + 1, batchInEpoch: 0 };
        await this.dispatch(Event.EPOCH_END);
        this.running.newEpoch();
      }
      const runEnded = ts().step >= s.maxSteps;
      if (runEnded) this.settleWeights();
      if (
        s.evalData &&
        this.book.lastEvalStep !== ts().step &&
        (this.evalInterval.due(ts(), epochEnded) || runEnded)
      ) {
        await this.evaluateNow();
      }
      if (this.checkpointInterval?.due(ts(), epochEnded)) await this.saveCheckpoint();
    }
    if (this.store && this.lastCheckpointStep !== ts().step) await this.saveCheckpoint();
    s.runComplete = ts().step >= s.maxSteps || s.stopRequested;
    this.running.settled(); // no step's tensors outlive fit()
    await this.dispatch(Event.FIT_END);
    return {
      timestamp: { ...ts() },
      metrics: { ...s.metrics },
      eval: this.book.lastEval ?? undefined,
      runComplete: s.runComplete,
      stopReason: s.stopReason,
      checkpoint: s.lastCheckpoint,
    };
  }

  /** Frees the flat vectors, optimizer state and method resources (and kernels it created). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.running.dispose();
    for (const method of this.methods) method.dispose?.();
    this.state.optimizer.dispose();
    this.state.pv.dispose();
    if (this.ownsOps) this.ops.dispose();
  }

  private async init(): Promise<void> {
    if (this.initialized) return;
    this.initialized = true;
    await this.dispatch(Event.INIT);
  }

  private dispatch(event: Event): Promise<void> {
    return this.dispatcher.run(event, this.state);
  }

  private async trainBatch(data: Batch): Promise<void> {
    const s = this.state;
    const d = this.dispatcher;
    const started = performance.now();
    const callbackSecondsBefore = d.callbackSeconds;
    const created = batchTensors(data, s.trainData.numClasses);
    s.batch = { ...created, size: data.size, data, hostX: data.images };
    s.skipStep = false;
    this.running.beginStep();
    try {
      await this.dispatch(Event.BATCH_START);
      const { value, grads } = tf.variableGrads(() => {
        d.runMethods(Event.BEFORE_FORWARD, s);
        s.outputs = forward(s.model, s.batch!.x, true);
        d.runMethods(Event.AFTER_FORWARD, s);
        d.runMethods(Event.BEFORE_LOSS, s);
        s.loss = s.lossFn(s.batch!.y, s.outputs);
        d.runMethods(Event.AFTER_LOSS, s);
        d.runMethods(Event.BEFORE_BACKWARD, s);
        // Kept past the tape for metrics and methods until BATCH_END.
        tf.keep(s.outputs);
        return s.loss;
      }, this.variables);
      s.loss = value;
      try {
        s.pv.setGrads(grads);
      } finally {
        tf.dispose(Object.values(grads));
      }
      this.running.setLoss(value);
      await this.dispatch(Event.AFTER_BACKWARD);
      this.applySchedules(s.timestamp.step);
      await this.dispatch(Event.BEFORE_STEP);
      if (!s.skipStep) {
        s.optimizer.step(s.pv);
        s.pv.writeBack();
      }
      await this.dispatch(Event.AFTER_STEP);
      this.updateTrainMetrics(data.size);
      const seconds =
        (performance.now() - started) / 1000 - (d.callbackSeconds - callbackSecondsBefore);
      const ts = s.timestamp;
      s.timestamp = {
        ...ts,
        step: ts.step + 1,
        batchInEpoch: ts.batchInEpoch + 1,
        samples: ts.samples + data.size,
        trainSeconds: ts.trainSeconds + seconds,
      };
      await this.dispatch(Event.BATCH_END);
    } finally {
      // The tensors the Trainer made and whatever methods left in their place.
      const batch = s.batch;
      tf.dispose([created.x, created.y, batch?.x, batch?.y, s.outputs, s.loss].filter(isTensor));
      s.batch = null;
      s.outputs = null;
      s.loss = null;
    }
  }

  private updateTrainMetrics(size: number): void {
    const { outputs, batch, metrics } = this.state;
    const classified =
      outputs && batch && outputs.rank === 2 && `${outputs.shape}` === `${batch.y.shape}`;
    const hits = classified ? top1Hits(batch.y, outputs) : null;
    try {
      this.running.count(metrics, size, hits, classified ? outputs.shape[0] : 0);
    } finally {
      hits?.dispose();
    }
  }

  /** hyper = base * multiplier(step) for each scheduled field (see the file comment). */
  private applySchedules(step: number): void {
    const hyper = this.state.optimizer.hyper as unknown as Record<string, number>;
    const base = this.baseHyper as unknown as Record<string, number>;
    const key = (field: (typeof HYPER_FIELDS)[number]) =>
      field === 'momentum' ? this.state.optimizer.momentumKey : field;
    for (const field of HYPER_FIELDS) {
      const schedule = this.schedules[field];
      if (schedule) hyper[key(field)] = base[key(field)] * schedule(step);
    }
    if (this.absoluteMomentum) hyper[key('momentum')] = this.absoluteMomentum(step);
  }

  /**
   * At the run's end, the weights the run stands for go into the model for good (Entropy-SGD's
   * outer weights, when it ends mid-cycle), so the final evaluation, checkpoint and model are them.
   */
  private settleWeights(): void {
    const weights = this.state.optimizer.evaluationWeights?.() ?? null;
    if (!weights) return;
    this.state.ops.copy(this.state.pv.params, weights);
    this.state.pv.writeBack();
  }

  private async evaluateNow(): Promise<void> {
    const s = this.state;
    await this.dispatch(Event.EVAL_START);
    const started = performance.now();
    // The run's weights, when the optimizer keeps them apart from the model's (Entropy-SGD).
    const weights = s.optimizer.evaluationWeights?.() ?? null;
    const live = weights ? s.pv.swapIn(weights) : null;
    let result;
    try {
      result = await evaluate(s.model, s.evalData!, {
        batchSize: this.options.evalBatchSize ?? 500,
        lossFn: this.baseLoss,
      });
    } finally {
      if (live) s.pv.restore(live);
    }
    s.timestamp = {
      ...s.timestamp,
      evalSeconds: s.timestamp.evalSeconds + (performance.now() - started) / 1000,
    };
    s.metrics['eval/loss'] = result.loss;
    s.metrics['eval/accuracy'] = result.accuracy;
    this.book.lastEval = result;
    this.book.lastEvalStep = s.timestamp.step;
    await this.dispatch(Event.EVAL_END);
  }

  private async saveCheckpoint(): Promise<void> {
    const s = this.state;
    const book: CheckpointBook = {
      ...this.book,
      epochSums: this.running.settled(),
      stopRequested: s.stopRequested,
      stopReason: s.stopReason,
    };
    s.lastCheckpoint = this.store!.save(
      s.timestamp.step,
      trainerCheckpoint(s, this.methods, book as unknown as PackableValue),
    );
    this.lastCheckpointStep = s.timestamp.step;
    await this.dispatch(Event.CHECKPOINT);
  }

  private checkAlive(op: string): void {
    if (this.disposed) {
      throw new UsageError(
        'ANNEAL_TRAINER_DISPOSED',
        `Trainer.${op}: this Trainer was disposed; create a new one`,
      );
    }
  }
}

function isTensor(t: tf.Tensor | null | undefined): t is tf.Tensor {
  return t !== null && t !== undefined && !t.isDisposed;
}

function buildOptimizer(
  spec: string | OptimizerSpec | ((pv: ParamVector) => Optimizer),
  pv: ParamVector,
): Optimizer {
  return typeof spec === 'function' ? spec(pv) : createOptimizer(spec, pv);
}

function toSchedule(
  like: ScheduleLike,
  timeline: Timeline,
): { schedule: Schedule; momentum?: Schedule } {
  return typeof like === 'function' ? { schedule: like } : createSchedule(like, timeline);
}

function interval(name: string, d: DurationLike, timeline: Timeline): Interval {
  return new Interval(
    d,
    timeline,
    (expected) =>
      new UsageError(
        'ANNEAL_BAD_OPTION',
        `${name} ${JSON.stringify(d)} is not valid: expected ${expected}`,
      ),
  );
}

/**
 * The run's timeline: from the loader's fixed batch size, or planned from the one method that
 * varies the batch size (Method.batchSize).
 */
function runTimeline(
  loader: DataLoader,
  maxDuration: DurationLike,
  methods: readonly Method[],
): Timeline {
  const sizing = methods.filter((m) => m.batchSize !== undefined);
  if (sizing.length === 0) return Timeline.ofLoader(loader, maxDuration);
  const names = sizing.map((m) => m.name).join(', ');
  if (sizing.length > 1) {
    throw new UsageError(
      'ANNEAL_BAD_OPTION',
      `methods ${names} each set the batch size: use only one of them`,
    );
  }
  if (loader.dropLast) {
    throw new UsageError(
      'ANNEAL_BAD_OPTION',
      `dropLast cannot be used with ${names}, which varies the batch size: every epoch's last ` +
        'batch is what the epoch has left; drop the dropLast option',
    );
  }
  const method = sizing[0];
  return Timeline.ofSchedule(loader, maxDuration, (seen, runSamples) =>
    method.batchSize!(seen, runSamples, loader.batchSize),
  );
}

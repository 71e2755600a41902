/**
 * ALASCA (Ko, Yi & Yun, AAAI 2023): adaptive label smoothing on auxiliary classifiers. Linear
 * heads on intermediate features are trained, next to the main classifier, with label smoothing
 * whose strength follows the model's confidence in each sample's (possibly noisy) label:
 *
 *   ema_i  <- w ema_i + (1 - w) z_i              (z_i: main logits, per sample, no gradient)
 *   alpha_i = r softmax(ema_i / T)[y_i] + (1 - r),  r = min(1, epoch / warmupEpochs)
 *   target_i = alpha_i one_hot(y_i) + (1 - alpha_i) / (K - 1) (1 - one_hot(y_i))
 *   loss = CE(z, y) + lam * sum_h CE(head_h, target)
 *
 * so samples the model doubts (likely mislabelled) are smoothed hard, which the paper shows acts
 * as a Lipschitz regulariser on the features below each head. The heads exist only in training:
 * at inference they are an identity, and `stripAuxHeads` gives the model without them for export.
 * See README.md for what is reproduced and what simplified.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { UsageError } from '../../errors.js';
import { deriveSeed } from '../../data/index.js';
import { tfjsSeed } from '../../models/init.js';
import { rebuildModel } from '../../models/rebuild.js';
import { Event } from '../../train/events.js';
import type { Logger, Method, MethodState } from '../../train/method.js';
import { isLayersModel } from '../../train/model.js';
import type { TrainState } from '../../train/state.js';
import { parseDuration, type DurationLike } from '../../time/index.js';
import { checkNumber, invalidOption } from '../../options.js';

type LayerArgs = ConstructorParameters<typeof tfl.layers.Layer>[0];
type LayerVariable = ReturnType<tfl.layers.Layer['addWeight']>;

export interface AuxHeadsArgs {
  numClasses: number;
  seed?: number;
  name?: string;
}

/**
 * The auxiliary heads as one layer: inputs [logits, feature_1, ..., feature_H], output the logits
 * unchanged. In training mode it also computes each head's logits (global average pooling of a
 * feature map, or the feature vector itself, then a dense layer) and keeps them in `headLogits`
 * for the loss; in inference mode it does nothing else, so the heads cost nothing at test time.
 */
export class AuxHeads extends tfl.layers.Layer {
  static readonly className = 'AlascaAuxHeads';
  /** Exists for training only: methods that walk the model's layers (reinit) skip it. */
  readonly trainingOnly = true;
  readonly numClasses: number;
  readonly seed?: number;
  /** Head logits of the last training-mode call (kept: the caller disposes them). */
  headLogits: tf.Tensor[] | null = null;
  private kernels: LayerVariable[] = [];
  private biases: LayerVariable[] = [];

  constructor(args: AuxHeadsArgs) {
    super({ name: args.name } as LayerArgs);
    this.numClasses = args.numClasses;
    this.seed = args.seed;
  }

  get headCount(): number {
    return this.kernels.length;
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const shapes = inputShape as tfl.Shape[];
    shapes.slice(1).forEach((shape, i) => {
      const width = shape[shape.length - 1]!;
      const seed = this.seed === undefined ? undefined : tfjsSeed(deriveSeed(this.seed, i));
      this.kernels.push(
        this.addWeight(
          `head${i}/kernel`,
          [width, this.numClasses],
          'float32',
          tfl.initializers.glorotUniform({ seed }),
        ),
      );
      this.biases.push(
        this.addWeight(`head${i}/bias`, [this.numClasses], 'float32', tfl.initializers.zeros()),
      );
    });
    super.build(inputShape);
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    return (inputShape as tfl.Shape[])[0];
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    const [logits, ...features] = inputs as tf.Tensor[];
    if (kwargs?.training === true) {
      this.releaseHeads();
      this.headLogits = features.map((f, i) => {
        const pooled = f.rank === 4 ? tf.mean(f, [1, 2]) : tf.reshape(f, [f.shape[0], -1]);
        // Kept past the model's tidy: the loss reads them after the forward pass.
        return tf.keep(tf.add(tf.matMul(pooled, this.kernels[i].read()), this.biases[i].read()));
      });
    }
    return tf.clone(logits);
  }

  /** Frees the head logits of the last training call. */
  releaseHeads(): void {
    if (this.headLogits) tf.dispose(this.headLogits);
    this.headLogits = null;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), numClasses: this.numClasses, seed: this.seed ?? null };
  }
}
tf.serialization.registerClass(AuxHeads);

const TAP_CLASSES = new Set(['Dense', 'MaxPooling2D', 'AveragePooling2D', 'Add']);

/**
 * Where heads go by default: the outputs of the model's dense, pooling and residual-add layers
 * (stage ends), except the logits layer and the layer that feeds it (the main classifier's own
 * features).
 */
export function defaultHeadLayers(model: tfl.LayersModel): string[] {
  const out = model.outputs[0].sourceLayer;
  const feeding = new Set(out.inboundNodes[0]?.inboundLayers.map((l) => l.name) ?? []);
  return model.layers
    .filter((l) => TAP_CLASSES.has(l.getClassName()))
    .filter((l) => l !== out && !feeding.has(l.name))
    .map((l) => l.name);
}

export interface AuxHeadsOptions {
  /** Layers whose outputs get a head (default: defaultHeadLayers). */
  layers?: readonly string[];
  /** Seeds the heads' initial weights (default 0). */
  seed?: number;
}

/**
 * The training model: a copy of `model` (same weights; the input model is left unchanged and may
 * be disposed) with an AuxHeads layer on the named layers' outputs. Flat models whose layers are
 * used once, like every src/models model.
 */
export function addAuxHeads(model: tfl.LayersModel, opts: AuxHeadsOptions = {}): tfl.LayersModel {
  const names = opts.layers ?? defaultHeadLayers(model);
  const known = model.layers.map((l) => l.name);
  for (const name of names) {
    if (!known.includes(name)) {
      throw invalidOption(
        'alasca',
        'layers',
        name,
        `names of the model's layers (${known.join(', ')})`,
      );
    }
  }
  if (names.length === 0) {
    throw new UsageError(
      'ANNEAL_ALASCA_NO_HEADS',
      `alasca: model '${model.name}' has no intermediate layer to put a head on (the default skips ` +
        'the logits layer and the one feeding it): pass layers: [names], or use a deeper model',
    );
  }
  return rebuildModel(model, {
    unsupported: (layer, why) =>
      new UsageError(
        'ANNEAL_ALASCA_UNSUPPORTED',
        `alasca: layer '${layer.name}' is ${why}; addAuxHeads copies flat models whose layers ` +
          'are used once',
      ),
    build: ({ inputs, tensorFor, outputOf }) => {
      const logits = tensorFor(model.outputs[0]);
      const numClasses = logits.shape[logits.shape.length - 1]!;
      const heads = new AuxHeads({ numClasses, seed: opts.seed ?? 0, name: 'alasca_heads' });
      const output = heads.apply([logits, ...names.map(outputOf)]) as tfl.SymbolicTensor;
      return tfl.model({ inputs, outputs: output, name: `${model.name}_alasca` });
    },
  });
}

/** The AuxHeads layer of a training model, or null. */
export function findAuxHeads(model: tfl.LayersModel): AuxHeads | null {
  return (model.layers.find((l) => l instanceof AuxHeads) as AuxHeads | undefined) ?? null;
}

/**
 * The model for inference and export: the training model without its heads. It shares the
 * training model's layers and weights (no copy): dispose one of the two, not both.
 */
export function stripAuxHeads(model: tfl.LayersModel): tfl.LayersModel {
  const heads = findAuxHeads(model);
  if (!heads) return model;
  const logits = heads.inboundNodes[0].inputTensors[0];
  return tfl.model({
    inputs: model.inputs,
    outputs: logits,
    name: model.name.replace(/_alasca$/, ''),
  });
}

// ---- the loss -----------------------------------------------------------------------------

/**
 * Per-sample label weight alpha_i = r * softmax(ema_i / T) . y_i + (1 - r): the (tempered,
 * averaged) confidence in the given label, pulled towards 1 (no smoothing) during warm-up.
 * The smoothing strength is 1 - alpha_i. `labels` one-hot (or soft) [n, K]; returns [n].
 */
export function alascaAlpha(
  emaLogits: tf.Tensor,
  labels: tf.Tensor,
  temperature: number,
  warm = 1,
): tf.Tensor1D {
  return tf.tidy(() => {
    const confidence = tf.sum(tf.mul(tf.softmax(tf.div(emaLogits, temperature)), labels), -1);
    return tf.add(tf.mul(confidence, warm), 1 - warm) as tf.Tensor1D;
  });
}

/** alpha_i on the label, (1 - alpha_i) / (K - 1) on every other class (the paper's targets). */
export function adaptiveSmoothTargets(labels: tf.Tensor, alpha: tf.Tensor): tf.Tensor {
  const k = labels.shape[labels.rank - 1];
  return tf.tidy(() => {
    const a = tf.expandDims(alpha, -1);
    return tf.add(tf.mul(a, labels), tf.mul(tf.div(tf.sub(1, a), k - 1), tf.sub(1, labels)));
  });
}

/** Mean over samples of the cross-entropy between the adaptive targets and softmax(logits). */
export function adaptiveSmoothingLoss(
  logits: tf.Tensor,
  labels: tf.Tensor,
  alpha: tf.Tensor,
): tf.Scalar {
  return tf.tidy(() => {
    const targets = adaptiveSmoothTargets(labels, alpha);
    return tf.neg(tf.mean(tf.sum(tf.mul(targets, tf.logSoftmax(logits)), -1))) as tf.Scalar;
  });
}

/** The functional twin: CE(main, labels) + lam * sum over heads of the adaptive-smoothing loss. */
export function alascaLoss(
  mainLogits: tf.Tensor,
  headLogits: readonly tf.Tensor[],
  labels: tf.Tensor,
  alpha: tf.Tensor,
  lam: number,
): tf.Scalar {
  return tf.tidy(() => {
    const main = tf.losses.softmaxCrossEntropy(labels, mainLogits) as tf.Scalar;
    const aux = headLogits.map((h) => adaptiveSmoothingLoss(h, labels, alpha));
    return aux.length === 0 ? main : (tf.add(main, tf.mul(lam, tf.addN(aux))) as tf.Scalar);
  });
}

/** A copy of x through which no gradient flows (tfjs has no stop_gradient). */
const detach = tf.customGrad(((x: tf.Tensor) => ({
  value: tf.clone(x),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
})) as unknown as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor) => tf.Tensor;

// ---- the method ---------------------------------------------------------------------------

export interface AlascaOptions extends AuxHeadsOptions {
  /** Weight of the heads' loss (default 2, the paper's CIFAR value). */
  lam?: number;
  /** EMA weight of the past logits (default 0.7). */
  wEma?: number;
  /** Softmax temperature of the confidence (default 0.33). */
  temperature?: number;
  /** Confidence ramps in over this (default '0.25dur': 30 of the paper's 120 epochs). */
  warmup?: DurationLike;
}

const METHOD = 'alasca';

export class Alasca implements Method {
  readonly name = METHOD;
  readonly lam: number;
  readonly wEma: number;
  readonly temperature: number;
  readonly warmup: DurationLike;
  readonly headOptions: AuxHeadsOptions;
  private heads: AuxHeads | null = null;
  private ema: Float32Array | null = null;
  private numClasses = 0;
  private warmupSteps = 0;
  private emaPrev: tf.Tensor | null = null;
  private emaNew: tf.Tensor | null = null;
  private auxLoss: tf.Scalar | null = null;

  constructor(opts: AlascaOptions = {}) {
    this.lam = checkNumber(METHOD, 'lam', opts.lam ?? 2, (v) => v >= 0, 'a finite number >= 0');
    this.wEma = checkNumber(
      METHOD,
      'wEma',
      opts.wEma ?? 0.7,
      (v) => v >= 0 && v < 1,
      'a number in [0, 1)',
    );
    this.temperature = checkNumber(
      METHOD,
      'temperature',
      opts.temperature ?? 0.33,
      (v) => v > 0,
      'a number > 0',
    );
    this.warmup = opts.warmup ?? '0.25dur';
    try {
      if (typeof this.warmup === 'string') parseDuration(this.warmup);
    } catch {
      throw invalidOption(METHOD, 'warmup', this.warmup, "a duration such as '0.25dur' or '5ep'");
    }
    this.headOptions = { layers: opts.layers, seed: opts.seed };
  }

  /** For recipes and the CLI: the training model (with heads) to hand to the Trainer. */
  transformModel(model: tfl.LayersModel): { model: tfl.LayersModel } {
    return { model: addAuxHeads(model, this.headOptions) };
  }

  /** The model to export once trained: the training model without its heads. */
  exportModel(model: tfl.LayersModel): tfl.LayersModel {
    return stripAuxHeads(model);
  }

  match(event: Event, state: TrainState): boolean {
    if (event === Event.BATCH_START || event === Event.AFTER_LOSS || event === Event.BATCH_END) {
      return state.batch !== null;
    }
    return event === Event.INIT;
  }

  apply(event: Event, state: TrainState, log: Logger): void {
    if (event === Event.INIT) this.init(state, log);
    else if (event === Event.BATCH_START) this.gatherEma(state);
    else if (event === Event.AFTER_LOSS) this.addAuxLoss(state);
    else this.finishBatch(state);
  }

  private init(state: TrainState, log: Logger): void {
    this.heads = isLayersModel(state.model) ? findAuxHeads(state.model) : null;
    if (!this.heads) {
      throw new UsageError(
        'ANNEAL_ALASCA_NO_HEADS',
        'alasca: the model has no auxiliary heads; build the Trainer with addAuxHeads(model) ' +
          '(recipes and --methods alasca do it), and export stripAuxHeads(model) after training',
      );
    }
    this.numClasses = state.trainData.numClasses;
    this.ema ??= new Float32Array(state.trainData.length * this.numClasses);
    this.warmupSteps = state.timeline.toSteps(this.warmup);
    log.log(METHOD, { heads: this.heads.headCount, lam: this.lam });
  }

  /** ema rows of the batch's samples, before this batch. */
  private gatherEma(state: TrainState): void {
    const { indices } = state.batch!.data;
    const k = this.numClasses;
    const rows = new Float32Array(indices.length * k);
    indices.forEach((index, r) => rows.set(this.ema!.subarray(index * k, (index + 1) * k), r * k));
    if (this.emaPrev) this.emaPrev.dispose();
    this.emaPrev = tf.tensor2d(rows, [indices.length, k]);
  }

  /** r = min(1, epoch / warmupEpochs) with the epoch counted from 0 (the paper's code). */
  private warm(state: TrainState): number {
    if (this.warmupSteps === 0) return 1;
    const epochSteps = state.timeline.toSteps({ value: state.timestamp.epoch, unit: 'ep' });
    return Math.min(1, epochSteps / this.warmupSteps);
  }

  /** Inside the gradient tape: the loss becomes CE + lam * sum of the heads' losses. */
  private addAuxLoss(state: TrainState): void {
    const heads = this.heads!.headLogits;
    const batch = state.batch!;
    if (!heads || !this.emaPrev || this.emaPrev.shape[0] !== batch.y.shape[0]) {
      throw new UsageError(
        'ANNEAL_ALASCA_NO_HEADS',
        'alasca: the heads did not run in this batch (or a method changed the batch size after ' +
          'alasca): put alasca after methods that add samples, and train the model built by addAuxHeads',
      );
    }
    const emaNew = tf.add(
      tf.mul(this.emaPrev, this.wEma),
      tf.mul(detach(state.outputs!), 1 - this.wEma),
    );
    const alpha = alascaAlpha(emaNew, batch.y, this.temperature, this.warm(state));
    const aux = tf.addN(heads.map((h) => adaptiveSmoothingLoss(h, batch.y, alpha))) as tf.Scalar;
    state.loss = tf.add(state.loss!, tf.mul(aux, this.lam)) as tf.Scalar;
    this.emaNew = tf.keep(emaNew);
    this.auxLoss = tf.keep(aux);
  }

  private finishBatch(state: TrainState): void {
    if (this.emaNew) {
      const values = this.emaNew.dataSync();
      const k = this.numClasses;
      state.batch!.data.indices.forEach((index, r) =>
        this.ema!.set(values.subarray(r * k, (r + 1) * k), index * k),
      );
      state.metrics['alasca/aux_loss'] = this.auxLoss!.dataSync()[0];
    }
    tf.dispose([this.emaPrev, this.emaNew, this.auxLoss].filter((t) => t !== null));
    this.emaPrev = this.emaNew = this.auxLoss = null;
    this.heads?.releaseHeads();
  }

  stateDict(): MethodState {
    return { ema: this.ema ?? new Float32Array(0) };
  }

  loadStateDict(saved: MethodState): void {
    const ema = saved.ema;
    if (ema instanceof Float32Array && ema.length > 0) this.ema = Float32Array.from(ema);
  }

  dispose(): void {
    tf.dispose([this.emaPrev, this.emaNew, this.auxLoss].filter((t) => t !== null));
    this.emaPrev = this.emaNew = this.auxLoss = null;
    this.heads?.releaseHeads();
  }
}

/** `alasca({ lam: 2 })`: adaptive label smoothing on auxiliary heads (see addAuxHeads). */
export function alasca(opts: AlascaOptions = {}): Alasca {
  return new Alasca(opts);
}

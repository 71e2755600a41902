/**
 * Adversarial training (Madry et al. 2018): train on PGD (or FGSM) examples, the inputs within an
 * epsilon ball (L-inf or L2) that maximise the loss, found by gradient steps on the INPUT
 * (tf.grad of the loss with respect to x, model in inference mode). Robust accuracy under PGD is
 * measured at every evaluation on the evaluation set and on a fixed subset of the training set
 * (the robust train/test gap), and training can stop early on robust validation accuracy,
 * keeping the best-robust weights (Rice et al. 2020's remedy for robust overfitting). See
 * README.md.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  DataLoader,
  deriveSeed,
  permutation,
  Rng,
  subset,
  type Dataset,
} from '../../data/index.js';
import { Event } from '../../train/events.js';
import { batchTensors, crossEntropy, top1Hits } from '../../train/loss.js';
import type { Logger, Method, MethodState } from '../../train/method.js';
import { forward } from '../../train/model.js';
import type { LossFn, ModelLike, TrainState } from '../../train/state.js';
import { replaceBatchTensors } from '../batch.js';
import { EarlyStopping } from '../early-stopping/index.js';
import { invalidOption } from '../../options.js';

export type AttackNorm = 'linf' | 'l2';

export interface AttackOptions {
  /** Radius of the perturbation ball, in the units of the model's inputs (>= 0). */
  epsilon: number;
  /** Default 'linf'. */
  norm?: AttackNorm;
  /** Gradient steps (default 10). */
  steps?: number;
  /** Size of each step (default 2.5 * epsilon / steps, Madry et al.). */
  stepSize?: number;
  /** Start from a uniform random point of the ball (default true). */
  randomStart?: boolean;
  /** The valid input range [min, max]: adversarial inputs are clipped to it (default none). */
  clip?: readonly [number, number] | null;
  /** The loss the attack ascends (default softmax cross-entropy). */
  lossFn?: LossFn;
}

/** An attack with every option resolved. */
export interface Attack {
  epsilon: number;
  norm: AttackNorm;
  steps: number;
  stepSize: number;
  randomStart: boolean;
  clip: readonly [number, number] | null;
  lossFn: LossFn;
}

const METHOD = 'adversarial';

/** Checks and completes attack options; a bad one is a UsageError that names it. */
export function resolveAttack(opts: AttackOptions, method = METHOD): Attack {
  const epsilon = opts?.epsilon;
  if (typeof epsilon !== 'number' || !(epsilon >= 0) || !Number.isFinite(epsilon)) {
    throw invalidOption(
      method,
      'epsilon',
      epsilon,
      'a finite number >= 0 (e.g. 0.1 on [0, 1] pixels)',
    );
  }
  const norm = opts.norm ?? 'linf';
  if (norm !== 'linf' && norm !== 'l2') throw invalidOption(method, 'norm', norm, "'linf' or 'l2'");
  const steps = opts.steps ?? 10;
  if (!Number.isInteger(steps) || steps < 1) {
    throw invalidOption(method, 'steps', steps, 'an integer >= 1');
  }
  const stepSize = opts.stepSize ?? (2.5 * epsilon) / steps;
  if (typeof stepSize !== 'number' || !(stepSize >= 0) || !Number.isFinite(stepSize)) {
    throw invalidOption(method, 'stepSize', stepSize, 'a finite number >= 0');
  }
  const randomStart = opts.randomStart ?? true;
  if (typeof randomStart !== 'boolean') {
    throw invalidOption(method, 'randomStart', randomStart, 'true or false');
  }
  const clip = opts.clip ?? null;
  if (
    clip !== null &&
    !(Array.isArray(clip) && clip.length === 2 && clip.every(Number.isFinite) && clip[0] < clip[1])
  ) {
    throw invalidOption(method, 'clip', clip, '[min, max] with min < max, or null');
  }
  return { epsilon, norm, steps, stepSize, randomStart, clip, lossFn: opts.lossFn ?? crossEntropy };
}

/** Per-sample L2 norm of a batch, shaped [n, 1, 1, ...] to broadcast over the sample. */
function sampleNorms(t: tf.Tensor): tf.Tensor {
  const axes = t.shape.slice(1).map((_, i) => i + 1);
  return tf.sqrt(tf.sum(tf.square(t), axes, true));
}

/** delta projected onto the ball of radius eps. */
function project(delta: tf.Tensor, attack: Attack): tf.Tensor {
  if (attack.norm === 'linf') return tf.clipByValue(delta, -attack.epsilon, attack.epsilon);
  const factor = tf.minimum(1, tf.div(attack.epsilon, tf.add(sampleNorms(delta), 1e-12)));
  return tf.mul(delta, factor);
}

/** A uniform random point of the ball (L2: uniform direction, radius eps * u^(1/d)). */
function randomDelta(shape: number[], attack: Attack, seed: number): tf.Tensor {
  const { epsilon } = attack;
  if (attack.norm === 'linf') return tf.randomUniform(shape, -epsilon, epsilon, 'float32', seed);
  const d = shape.slice(1).reduce((a, b) => a * b, 1);
  const direction = tf.randomNormal(shape, 0, 1, 'float32', seed);
  const unit = tf.div(direction, tf.add(sampleNorms(direction), 1e-12));
  const radiusShape = [shape[0], ...shape.slice(1).map(() => 1)];
  const u = tf.randomUniform(radiusShape, 0, 1, 'float32', deriveSeed(seed, 1));
  return tf.mul(unit, tf.mul(epsilon, tf.pow(u, 1 / d)));
}

/**
 * The functional twin: PGD adversarial inputs for (x, y) against `model` (run in inference mode).
 * Each step: x' <- x' + stepSize * sign(g) (L-inf) or stepSize * g / ||g|| (L2, per sample),
 * g = d loss / d x', then projected onto the eps-ball around x and clipped to `clip`. Returns a
 * new tensor (the caller's to dispose). FGSM is one step of size eps without random start.
 */
export function pgdAttack(
  model: ModelLike,
  x: tf.Tensor,
  y: tf.Tensor,
  opts: AttackOptions,
  seed = 0,
): tf.Tensor {
  const attack = resolveAttack(opts);
  const lossOf = (input: tf.Tensor) => attack.lossFn(y, forward(model, input, false));
  const gradOf = tf.grad(lossOf);
  const bound = (t: tf.Tensor) =>
    attack.clip ? tf.clipByValue(t, attack.clip[0], attack.clip[1]) : t;
  let adv = tf.tidy(() =>
    attack.randomStart && attack.epsilon > 0
      ? bound(tf.add(x, randomDelta(x.shape, attack, seed)))
      : tf.clone(x),
  );
  for (let k = 0; k < attack.steps; k++) {
    const next = tf.tidy(() => {
      const g = gradOf(adv);
      const step = attack.norm === 'linf' ? tf.sign(g) : tf.div(g, tf.add(sampleNorms(g), 1e-12));
      const moved = tf.add(adv, tf.mul(attack.stepSize, step));
      return bound(tf.add(x, project(tf.sub(moved, x), attack)));
    });
    adv.dispose();
    adv = next;
  }
  return adv;
}

/** FGSM (Goodfellow et al. 2015): x + eps * sign(d loss / d x), clipped; one PGD step. */
export function fgsmAttack(
  model: ModelLike,
  x: tf.Tensor,
  y: tf.Tensor,
  opts: Pick<AttackOptions, 'epsilon' | 'clip' | 'lossFn'>,
): tf.Tensor {
  return pgdAttack(model, x, y, {
    ...opts,
    norm: 'linf',
    steps: 1,
    stepSize: opts.epsilon,
    randomStart: false,
  });
}

export interface RobustEvaluation {
  /** Top-1 accuracy on the adversarial inputs. */
  accuracy: number;
  /** Mean loss on the adversarial inputs. */
  loss: number;
  /** Top-1 accuracy on the clean inputs of the same samples. */
  cleanAccuracy: number;
  count: number;
}

/**
 * Robust accuracy: each batch of `data` (in data set order) attacked with PGD, then scored in
 * inference mode. Synchronous, so a method can run it inside an event.
 */
export function robustEvaluate(
  model: ModelLike,
  data: Dataset,
  opts: AttackOptions,
  { batchSize = 250, seed = 0 }: { batchSize?: number; seed?: number } = {},
): RobustEvaluation {
  const attack = resolveAttack(opts);
  const loader = new DataLoader(data, { batchSize, shuffle: false });
  let loss = 0;
  let hits = 0;
  let cleanHits = 0;
  let b = 0;
  for (const batch of loader.batches(0)) {
    const { x, y } = batchTensors(batch, data.numClasses);
    const adv = pgdAttack(model, x, y, attack, deriveSeed(seed, b++));
    const scores = tf.tidy(() => {
      const logits = forward(model, adv, false);
      return tf.stack([
        tf.mul(attack.lossFn(y, logits), batch.size),
        top1Hits(y, logits),
        top1Hits(y, forward(model, x, false)),
      ]);
    });
    const [l, h, c] = scores.dataSync();
    tf.dispose([x, y, adv, scores]);
    loss += l;
    hits += h;
    cleanHits += c;
  }
  const n = data.length;
  return { accuracy: hits / n, loss: loss / n, cleanAccuracy: cleanHits / n, count: n };
}

export interface AdversarialOptions extends Omit<AttackOptions, 'lossFn'> {
  /** 'pgd' (default) or 'fgsm' (one step of size epsilon, no random start). */
  attack?: 'pgd' | 'fgsm';
  /** PGD steps of the robust evaluation (default: steps, at least 1). */
  evalSteps?: number;
  /** Evaluation samples attacked at each evaluation (default 1000; 0: no robust evaluation). */
  evalLimit?: number;
  /** Training samples attacked at each evaluation for the robust train/test gap (default 1000; 0: off). */
  trainEvalLimit?: number;
  /**
   * Stop on robust validation accuracy ('eval/robust_accuracy') and end on the best-robust
   * weights: true, or the early-stopping options (default patience 5). Default false.
   */
  earlyStopping?: boolean | { patience?: number; minDelta?: number; restoreBest?: boolean };
}

/** Streams of `stepSeed` / deriveSeed for the attacks' random starts and the train subset. */
const TRAIN_ATTACK_STREAM = 0x61647674;
const EVAL_ATTACK_STREAM = 0x61647665;
const TRAIN_SUBSET_STREAM = 0x61647373;

function checkLimit(option: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw invalidOption(METHOD, option, value, 'an integer >= 0 (0 switches it off)');
  }
  return value;
}

export class AdversarialTraining implements Method {
  readonly name = METHOD;
  /** The attack training examples are made with. */
  readonly attack: Attack;
  /** The attack robust accuracy is measured with (PGD). */
  readonly evalAttack: Attack;
  readonly evalLimit: number;
  readonly trainEvalLimit: number;
  /** The early stopping on robust validation accuracy, when asked for. */
  readonly stopping: EarlyStopping | null;
  private evalSubset: Dataset | null = null;
  private trainSubset: Dataset | null = null;

  constructor(opts: AdversarialOptions) {
    const kind = opts?.attack ?? 'pgd';
    if (kind !== 'pgd' && kind !== 'fgsm')
      throw invalidOption(METHOD, 'attack', kind, "'pgd' or 'fgsm'");
    const base = resolveAttack(opts);
    this.attack =
      kind === 'fgsm'
        ? resolveAttack({
            ...opts,
            norm: 'linf',
            steps: 1,
            stepSize: base.epsilon,
            randomStart: false,
          })
        : base;
    const evalSteps = opts.evalSteps ?? Math.max(1, base.steps);
    this.evalAttack = resolveAttack({
      epsilon: base.epsilon,
      norm: base.norm,
      steps: evalSteps,
      clip: base.clip,
      randomStart: true,
    });
    this.evalLimit = checkLimit('evalLimit', opts.evalLimit ?? 1000);
    this.trainEvalLimit = checkLimit('trainEvalLimit', opts.trainEvalLimit ?? 1000);
    const es = opts.earlyStopping ?? false;
    if (es !== false && (es === null || (typeof es !== 'object' && es !== true))) {
      throw invalidOption(
        METHOD,
        'earlyStopping',
        es,
        'true, false or { patience, minDelta, restoreBest }',
      );
    }
    this.stopping =
      es === false
        ? null
        : new EarlyStopping({
            monitor: 'eval/robust_accuracy',
            mode: 'max',
            patience: 5,
            ...(es === true ? {} : es),
          });
  }

  match(event: Event, state: TrainState): boolean {
    if (this.stopping?.match(event)) return true;
    return (
      event === Event.INIT ||
      (event === Event.BATCH_START && state.batch !== null && this.attack.epsilon > 0) ||
      event === Event.EVAL_START ||
      event === Event.EVAL_END
    );
  }

  apply(event: Event, state: TrainState, log: Logger): void {
    if (event === Event.INIT) this.init(state);
    else if (event === Event.BATCH_START) this.attackBatch(state);
    else if (event === Event.EVAL_START) this.measure(state);
    else if (event === Event.EVAL_END) this.report(state, log);
    if (this.stopping?.match(event)) this.stopping.apply(event, state, log);
  }

  private init(state: TrainState): void {
    const { evalData, trainData, seed } = state;
    if (evalData && this.evalLimit > 0) {
      const n = Math.min(this.evalLimit, evalData.length);
      this.evalSubset = subset(
        evalData,
        Int32Array.from({ length: n }, (_, i) => i),
      );
    }
    if (this.trainEvalLimit > 0) {
      const n = Math.min(this.trainEvalLimit, trainData.length);
      const order = permutation(trainData.length, new Rng(deriveSeed(seed, TRAIN_SUBSET_STREAM)));
      this.trainSubset = subset(trainData, order.subarray(0, n).slice().sort());
    }
    if (this.stopping && !this.evalSubset) {
      throw invalidOption(
        METHOD,
        'earlyStopping',
        true,
        'evaluation data and evalLimit > 0 (it stops on robust evaluation accuracy)',
      );
    }
  }

  /** Replaces the batch's inputs by their adversarial versions (labels as they are now). */
  private attackBatch(state: TrainState): void {
    const batch = state.batch!;
    const adv = pgdAttack(
      state.model,
      batch.x,
      batch.y,
      this.attack,
      state.stepSeed(TRAIN_ATTACK_STREAM),
    );
    replaceBatchTensors(state, adv, batch.y);
  }

  /** Robust accuracy, before the Trainer's evaluation: its metrics are there for every method at EVAL_END. */
  private measure(state: TrainState): void {
    const started = performance.now();
    const seed = deriveSeed(state.seed, EVAL_ATTACK_STREAM, state.timestamp.step);
    const m = state.metrics;
    if (this.evalSubset) {
      const r = robustEvaluate(state.model, this.evalSubset, this.evalAttack, { seed });
      m['eval/robust_accuracy'] = r.accuracy;
      m['eval/robust_loss'] = r.loss;
    }
    if (this.trainSubset) {
      const r = robustEvaluate(state.model, this.trainSubset, this.evalAttack, { seed: seed + 1 });
      m['train/robust_accuracy'] = r.accuracy;
      m['train/robust_loss'] = r.loss;
    }
    if (this.evalSubset && this.trainSubset) {
      m['adversarial/robust_gap'] = m['train/robust_accuracy'] - m['eval/robust_accuracy'];
    }
    const ts = state.timestamp;
    state.timestamp = { ...ts, evalSeconds: ts.evalSeconds + (performance.now() - started) / 1000 };
  }

  private report(state: TrainState, log: Logger): void {
    const m = state.metrics;
    log.log(METHOD, {
      robustAccuracy: m['eval/robust_accuracy'] ?? null,
      trainRobustAccuracy: m['train/robust_accuracy'] ?? null,
      robustGap: m['adversarial/robust_gap'] ?? null,
      cleanAccuracy: m['eval/accuracy'] ?? null,
    });
  }

  stateDict(): MethodState {
    return this.stopping ? { stopping: this.stopping.stateDict() } : {};
  }

  loadStateDict(saved: MethodState): void {
    if (this.stopping && saved.stopping) this.stopping.loadStateDict(saved.stopping as MethodState);
  }

  dispose(): void {
    this.stopping?.dispose();
  }
}

/** `adversarial({ epsilon: 0.1, steps: 3 })`: PGD adversarial training with robust evaluation. */
export function adversarial(opts: AdversarialOptions): AdversarialTraining {
  return new AdversarialTraining(opts);
}

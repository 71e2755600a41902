/**
 * NoiLIn (Zhang et al., TMLR 2022): noisy-label injection. Each epoch the labels of a fraction p
 * of the training samples are replaced by random OTHER classes; p starts small and rises by a
 * factor (1 + gamma) whenever the (robust) validation accuracy falls below its value tau
 * evaluations earlier (the paper's sliding-window rule), capped at pMax, and at pMax / 2 during
 * the first `capUntil` of the run. With adversarial training it counters robust overfitting;
 * without it, it is a label-noise regulariser. See README.md.
 */
import * as tf from '@tensorflow/tfjs-core';
import { deriveSeed, flipLabels, Rng } from '../../data/index.js';
import { Event } from '../../train/events.js';
import type { Logger, Method, MethodState } from '../../train/method.js';
import type { TrainState } from '../../train/state.js';
import { parseDuration, type DurationLike } from '../../time/index.js';
import { replaceBatchTensors } from '../batch.js';
import { invalidOption } from '../../options.js';

export interface NoilinOptions {
  /** The first injection rate (default 0.05, the paper's). */
  pInit?: number;
  /** The largest rate (default 0.6). */
  pMax?: number;
  /** p <- p * (1 + gamma) when accuracy drops (default 0.05). */
  gamma?: number;
  /** Sliding-window length in evaluations (default 10; scale it with a short run). */
  tau?: number;
  /** p stays <= pMax / 2 until this much of the run (default '0.75dur'; '0dur' turns it off). */
  capUntil?: DurationLike;
  /**
   * The metric whose drop raises p (default: 'eval/robust_accuracy' when the adversarial method
   * measures it, else 'eval/accuracy').
   */
  monitor?: string;
}

/** Where the schedule stands: the rate, the window of past values and evaluations seen. */
export interface NoiseRateState {
  p: number;
  window: number[];
  count: number;
}

export interface NoiseRateRule {
  gamma: number;
  pMax: number;
  tau: number;
}

const METHOD = 'noilin';
const NOILIN_STREAM = 0x6e6f696c;

function checkRate(option: string, value: unknown): number {
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
    throw invalidOption(METHOD, option, value, 'a number in [0, 1]');
  }
  return value;
}

/** The first state of the schedule: p = pInit, a window of tau zeros (as the paper's code). */
export function initialNoiseRate(pInit: number, tau: number): NoiseRateState {
  return { p: checkRate('pInit', pInit), window: new Array<number>(tau).fill(0), count: 0 };
}

/**
 * The functional twin of the schedule: one evaluation more. The value replaces the one tau
 * evaluations ago in the window; if the window's sum fell (the new value is below the old one),
 * p <- min(pMax, p * (1 + gamma)); while `capped`, p <- min(p, pMax / 2).
 */
export function advanceNoiseRate(
  state: NoiseRateState,
  value: number,
  rule: NoiseRateRule,
  capped = false,
): NoiseRateState {
  const window = [...state.window];
  const slot = state.count % rule.tau;
  const before = window.reduce((a, b) => a + b, 0);
  window[slot] = value;
  const after = window.reduce((a, b) => a + b, 0);
  let p = before > after ? Math.min(rule.pMax, state.p * (1 + rule.gamma)) : state.p;
  if (capped) p = Math.min(p, rule.pMax / 2);
  return { p, window, count: state.count + 1 };
}

/**
 * The labels of one epoch: exactly round(p * n) of the n training labels, drawn from (seed,
 * epoch), replaced by uniformly random other classes.
 */
export function injectNoisyLabels(
  labels: Int32Array,
  numClasses: number,
  p: number,
  seed: number,
  epoch: number,
): { labels: Int32Array; flipped: Int32Array } {
  checkRate('p', p);
  const rng = new Rng(deriveSeed(seed, NOILIN_STREAM, epoch));
  return flipLabels(labels, numClasses, p, 'symmetric', rng);
}

export class Noilin implements Method {
  readonly name = METHOD;
  readonly rule: NoiseRateRule;
  readonly pInit: number;
  readonly capUntil: DurationLike;
  readonly monitor: string | undefined;
  private schedule: NoiseRateState;
  private capSteps = 0;
  /** The epoch whose labels `epochLabels` are, and the rate they were drawn with. */
  private labelsEpoch = -1;
  private labelsP = 0;
  private epochLabels: Int32Array | null = null;

  constructor(opts: NoilinOptions = {}) {
    this.pInit = checkRate('pInit', opts.pInit ?? 0.05);
    const pMax = checkRate('pMax', opts.pMax ?? 0.6);
    if (this.pInit > pMax) {
      throw invalidOption(METHOD, 'pInit', this.pInit, `a rate <= pMax (${pMax})`);
    }
    const gamma = opts.gamma ?? 0.05;
    if (typeof gamma !== 'number' || !(gamma >= 0) || !Number.isFinite(gamma)) {
      throw invalidOption(METHOD, 'gamma', gamma, 'a finite number >= 0');
    }
    const tau = opts.tau ?? 10;
    if (!Number.isInteger(tau) || tau < 1)
      throw invalidOption(METHOD, 'tau', tau, 'an integer >= 1');
    this.rule = { gamma, pMax, tau };
    this.capUntil = opts.capUntil ?? '0.75dur';
    try {
      if (typeof this.capUntil === 'string') parseDuration(this.capUntil);
    } catch {
      throw invalidOption(
        METHOD,
        'capUntil',
        this.capUntil,
        "a duration such as '0.75dur' or '30ep'",
      );
    }
    if (opts.monitor !== undefined && typeof opts.monitor !== 'string') {
      throw invalidOption(METHOD, 'monitor', opts.monitor, 'a metric name such as eval/accuracy');
    }
    this.monitor = opts.monitor;
    this.schedule = initialNoiseRate(this.pInit, tau);
  }

  /** The current injection rate. */
  get p(): number {
    return this.schedule.p;
  }

  match(event: Event, state: TrainState): boolean {
    return (
      event === Event.INIT ||
      (event === Event.BATCH_START && state.batch !== null) ||
      event === Event.EPOCH_END ||
      event === Event.EVAL_END
    );
  }

  apply(event: Event, state: TrainState, log: Logger): void {
    if (event === Event.INIT) {
      this.capSteps = state.timeline.toSteps(this.capUntil);
    } else if (event === Event.BATCH_START) {
      this.relabel(state);
    } else if (event === Event.EPOCH_END) {
      // Per epoch: the rate the epoch was trained with.
      state.metrics['noilin/p'] = this.labelsP;
      log.log(METHOD, {
        p: this.labelsP,
        flipped: Math.round(this.labelsP * state.trainData.length),
      });
    } else {
      this.afterEval(state);
    }
  }

  /** This epoch's labels for the batch's samples (drawn at its first batch, or on resume). */
  private relabel(state: TrainState): void {
    const epoch = state.timestamp.epoch;
    if (this.labelsEpoch !== epoch || !this.epochLabels) {
      if (this.labelsEpoch !== epoch) this.labelsP = this.schedule.p;
      const ds = state.trainData;
      this.epochLabels = injectNoisyLabels(
        ds.labels,
        ds.numClasses,
        this.labelsP,
        state.seed,
        epoch,
      ).labels;
      this.labelsEpoch = epoch;
    }
    const batch = state.batch!;
    const labels = Int32Array.from(batch.data.indices, (i) => this.epochLabels![i]);
    batch.data = { ...batch.data, labels };
    const y = tf.tidy(() => tf.oneHot(tf.tensor1d(labels, 'int32'), state.trainData.numClasses));
    replaceBatchTensors(state, batch.x, y);
  }

  private afterEval(state: TrainState): void {
    const key =
      this.monitor ??
      (state.metrics['eval/robust_accuracy'] !== undefined
        ? 'eval/robust_accuracy'
        : 'eval/accuracy');
    const value = state.metrics[key];
    if (value === undefined) {
      throw invalidOption(
        METHOD,
        'monitor',
        key,
        `a metric that exists after evaluation (${Object.keys(state.metrics).join(', ')})`,
      );
    }
    const capped = state.timestamp.step <= this.capSteps;
    this.schedule = advanceNoiseRate(this.schedule, value, this.rule, capped);
    state.metrics['noilin/next_p'] = this.schedule.p;
  }

  stateDict(): MethodState {
    return {
      p: this.schedule.p,
      window: this.schedule.window,
      count: this.schedule.count,
      labelsEpoch: this.labelsEpoch,
      labelsP: this.labelsP,
    };
  }

  loadStateDict(saved: MethodState): void {
    this.schedule = {
      p: saved.p as number,
      window: [...(saved.window as number[])],
      count: saved.count as number,
    };
    this.labelsEpoch = saved.labelsEpoch as number;
    this.labelsP = saved.labelsP as number;
    this.epochLabels = null; // redrawn from (seed, epoch, labelsP) at the next batch
  }
}

/** `noilin({ pInit: 0.05, tau: 3 })`: noisy-label injection with the dynamic rate. */
export function noilin(opts: NoilinOptions = {}): Noilin {
  return new Noilin(opts);
}
